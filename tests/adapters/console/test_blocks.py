"""Where a streaming Markdown text may be cut into finished blocks and the growing one."""

from __future__ import annotations

import pytest

from adapters.console.blocks import finished_prefix, insert_cursor, open_fence_at, tail_lines


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("one paragraph still grow", ""),
        ("first\n\nsecond", "first\n\n"),
        ("first\n\nsecond\n\nthird\n", "first\n\nsecond\n\n"),
        # The next block has not begun: it might be indented (a list item's paragraph).
        ("first\n\n", ""),
        ("- item\n\n  more of the item", ""),
        ("- item\n\n    code in the item\n\nafter", "- item\n\n    code in the item\n\n"),
        # A blank line inside a fenced code block cuts nothing.
        ("```python\na = 1\n\nb = 2\n", ""),
        ("```python\na = 1\n\nb = 2\n```\n\nafter", "```python\na = 1\n\nb = 2\n```\n\n"),
        ("~~~\n\n```\n\n~~~\n\nx", "~~~\n\n```\n\n~~~\n\n"),
        ("````\n```\n\ninner\n````\n\nx", "````\n```\n\ninner\n````\n\n"),
    ],
)
def test_finished_prefix(text: str, finished: str) -> None:
    assert text[: finished_prefix(text)] == finished


def test_finished_prefix_continues_from_an_earlier_cut() -> None:
    text = "a\n\nb\n\nc"
    first = finished_prefix(text[:4])
    assert first == 3
    assert text[: finished_prefix(text, first)] == "a\n\nb\n\n"


def test_a_fence_closed_for_the_stream_gets_the_cursor_inside_the_code() -> None:
    streaming = "Look:\n\n```python\ndef f():\n```"
    assert insert_cursor(streaming, "▌") == "Look:\n\n```python\ndef f():▌\n```"
    assert insert_cursor("Some text", "▌") == "Some text▌"
    assert insert_cursor("```\ncode\n```\n\nafter", "▌").endswith("after▌")


def test_tail_lines_reopens_a_fence_cut_off_above() -> None:
    code = "```python\n" + "".join(f"line{i}\n" for i in range(10))
    assert tail_lines(code, 3) == "```python\nline7\nline8\nline9\n"
    assert tail_lines("a\nb\nc\n", 2) == "b\nc\n"
    assert tail_lines("short", 5) == "short"
    assert open_fence_at("```\nx\n```\n") is None
