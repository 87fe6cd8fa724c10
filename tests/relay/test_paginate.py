"""Fence-safe pagination: every page fits, fences balance, nothing is lost.

The layouts below put code fences (with and without a language, backticks and tildes,
nested markers, blank lines inside, an unclosed fence at the end) at every position relative
to the page boundaries, by shifting them with a growing prefix and sweeping the limit.
"""

from __future__ import annotations

import itertools

import pytest

from core.relay.pages import PageBook, split_whole
from core.relay.paginate import (
    Cut,
    Fence,
    Measure,
    Open,
    Row,
    fence_at,
    find_cut,
    page_markdown,
)

Page = tuple[Open | None, str, Open | None]  # (reopened fence or row, content, closed one)


def paginate(text: str, budget: int, measure: Measure = len) -> list[Page]:
    pages: list[Page] = []
    start, opening = 0, None
    while (cut := find_cut(text, start, opening, budget, measure)) is not None:
        assert cut.end > start, "a page is never empty"
        pages.append((opening, text[start : cut.end], cut.fence))
        start, opening = cut.end, cut.fence
    pages.append((opening, text[start:], None))
    return pages


def paginate_streaming(text: str, budget: int, step: int) -> list[Page]:
    """Like the relay: cut only the open tail as text arrives, never revisit a page."""
    pages: list[Page] = []
    start, opening = 0, None
    for arrived in range(step, len(text) + step, step):
        partial = text[:arrived]
        while (cut := find_cut(partial, start, opening, budget)) is not None:
            pages.append((opening, partial[start : cut.end], cut.fence))
            start, opening = cut.end, cut.fence
    pages.append((opening, text[start:], None))
    return pages


def markdown_of(page: Page) -> str:
    opening, content, closing = page
    return page_markdown(content, 0, len(content), opening, closing)


def check_pages(text: str, pages: list[Page], budget: int, measure: Measure = len) -> None:
    assert "".join(content for _, content, _ in pages) == text
    for index, page in enumerate(pages):
        opening, content, closing = page
        markdown = markdown_of(page)
        assert len(markdown) <= budget and measure(markdown) <= budget, (index, markdown)
        last = index == len(pages) - 1
        if not last:
            assert content, "only the last page may be empty"
            # The fence open at a cut between lines is the one the original text has open
            # there: the page closes exactly that and the next page reopens it.
            if content.endswith("\n"):
                done = sum(len(c) for _, c, _ in pages[: index + 1])
                assert fence_at(text, 0, done, None) == closing
            assert pages[index + 1][0] == closing
            if closing is not None:
                assert pages[index + 1][1] == "" or markdown_of(pages[index + 1]).startswith(
                    closing.opener
                )
            # Balanced: every page on its own leaves no fence open.
            assert fence_at(markdown, 0, len(markdown), None) is None, markdown
        if isinstance(opening, Fence):
            assert markdown.startswith(f"{opening.marker}{opening.language}\n")


WORDS = ("alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa")


def prose(words: int, offset: int = 0) -> str:
    return " ".join(WORDS[(offset + i) % len(WORDS)] for i in range(words))


CODE_BLOCKS = [
    "```python\ndef f(x):\n    return x * 2\n\n\nprint(f(21))\n```\n",
    "```\nplain block line one\nplain block line two\n```\n",
    "~~~sh\necho one\necho two\n~~~\n",
    "````markdown\nHere is a nested fence:\n```js\nlet a = 1;\n```\nstill inside\n````\n",
    '```rust title=main.rs\nfn main() {\n    println!("hi");\n}\n```\n',
]


def layouts() -> list[str]:
    texts = []
    for block_a, block_b in itertools.product(CODE_BLOCKS, repeat=2):
        texts.append(f"{prose(12)}\n\n{block_a}\n{prose(9, 3)}\n{block_b}{prose(20, 5)}")
    texts.append("```python\n" + "\n".join(f"x{i} = {i}" for i in range(60)) + "\n```")
    texts.append(prose(30) + "\n\n```go\nfunc main() {}\n" + "y := 1\n" * 20)  # unclosed
    texts.append("```\n" + "z" * 300 + "\n```\n")  # one huge line: hard cuts inside code
    texts.append(prose(5) + " " + "https://example.com/" + "a" * 200 + " " + prose(5))
    return texts


@pytest.mark.parametrize("text", layouts())
def test_every_boundary_position(text: str) -> None:
    for shift in range(0, 24, 3):
        shifted = "p" * shift + " " + text
        for budget in range(48, 161, 7):
            check_pages(shifted, paginate(shifted, budget), budget)


@pytest.mark.parametrize("text", layouts())
def test_streaming_cuts_keep_every_invariant(text: str) -> None:
    """Cutting only the open tail as text arrives (never revisiting a page) is just as safe.

    A cut can come earlier than in one shot when only the closing fence of a still-open
    block overflows (the rest of the window has not arrived yet); the invariants hold.
    """
    for budget in (60, 97, 150):
        for step in (1, 7, 40):
            check_pages(text, paginate_streaming(text, budget, step), budget)


def test_streaming_cuts_of_prose_match_one_shot() -> None:
    """Without fences the page boundaries do not depend on how the text arrived."""
    text = "\n\n".join(prose(7 + i % 13, i) + "\n" + prose(5 + i % 4, i) for i in range(40))
    for budget in (60, 97, 150, 400):
        for step in (1, 7, 40, 333):
            assert paginate_streaming(text, budget, step) == paginate(text, budget)


def test_prefers_paragraph_then_line_then_word() -> None:
    text = prose(8) + "\n\n" + prose(6) + "\n" + prose(10)
    first = find_cut(text, 0, None, len(prose(8)) + 30)
    assert first == Cut(len(prose(8)) + 2, None)  # after the blank line
    lines = prose(8) + "\n" + prose(8) + "\n" + prose(8)
    cut = find_cut(lines, 0, None, 2 * len(prose(8)) + 10)
    assert cut is not None and lines[: cut.end].endswith("\n")
    words = prose(40)
    cut = find_cut(words, 0, None, 50)
    assert cut is not None and words[: cut.end].endswith(" ")
    hard = "x" * 120
    assert find_cut(hard, 0, None, 50) == Cut(50, None)


def test_split_inside_fence_reopens_language() -> None:
    code = "```python\n" + "".join(f"value_{i} = {i}\n" for i in range(20)) + "```\n"
    pages = paginate(code, 80)
    assert len(pages) > 2
    for _, _, closing in pages[:-1]:
        assert closing == Fence("```", "python")
    for opening, _, _ in pages[1:]:
        assert opening == Fence("```", "python")
    assert markdown_of(pages[1]).startswith("```python\n")
    assert markdown_of(pages[0]).endswith("\n```")


def test_never_ends_a_page_on_an_opening_fence_line() -> None:
    text = prose(10) + "\n```python\nprint(1)\nprint(2)\n```\n"
    for budget in range(40, 90):
        for _, content, closing in paginate(text, budget)[:-1]:
            assert not (closing is not None and content.endswith("```python\n")), budget


def test_fits_returns_none_and_counts_open_fence() -> None:
    assert find_cut("short", 0, None, 10) is None
    # Ten characters of text fit, but not with the closing fence the open block needs.
    assert find_cut("```\nabcdef", 0, None, 11) is not None
    assert find_cut("```\nab", 0, None, 11) is None


def test_rendered_size_counts() -> None:
    """The limit is in rendered characters: escaping that grows the text is accounted for."""

    def measure(markdown: str) -> int:
        return len(markdown.replace("&", "&amp;"))

    text = " ".join(["R&D"] * 200)
    pages = paginate(text, 100, measure)
    check_pages(text, pages, 100, measure)
    assert len(pages) > 8


def test_fence_at_tracks_bare_closing_fence_at_end() -> None:
    text = "```py\nx\n```"
    assert fence_at(text, 0, len(text), None) is None
    assert fence_at(text, 0, 8, None) == Fence("```", "py")
    assert fence_at("```a```\n", 0, 8, None) is None  # inline code, not a fence
    assert fence_at("    ```\n", 0, 8, None) is None  # indented code, not a fence


def test_a_page_turns_where_its_message_ends_if_that_saves_a_request_or_it_is_behind() -> None:
    words = "".join(f"w{i:03d} " for i in range(60))  # 300 characters, a space every 5
    book = PageBook(200, len)
    book.extend(words[:150])
    assert book.cut_at_shown(100, behind=True) is None  # the page still fits: nothing to turn
    book.extend(words[150:])
    # 300 characters: shown 100 -> the rest (200) fits one new message; cutting the full
    # page at 200 would cost its final edit plus the post of the other 100.
    cut = book.cut_at_shown(100, behind=False)
    assert cut is not None and cut.end == 100
    assert book.cut_at_shown(102, behind=True) is None  # mid-word: not a clean place to end
    # Shown 50: the rest (250) needs two messages either way, so the page is filled...
    assert book.cut_at_shown(50, behind=False) is None
    # ...unless the reply is behind: then the request at hand shows a whole page (200) of new
    # text, not just the old page's 150 characters of room.
    cut = book.cut_at_shown(50, behind=True)
    assert cut is not None and cut.end == 50


def test_inside_code_a_full_page_ends_at_a_line_end_whenever_a_line_fits() -> None:
    """Lines of mixed lengths, some longer than half a page: a space in the page's back half
    must not win over a line end in its front half, as it may in prose."""
    lines = [f"v{i} = f({', '.join(['x'] * ((i * 37) % 23))})\n" for i in range(60)]
    code = "".join(lines)
    text = f"{prose(20)}\n\n```python\n{code}```\n\n{prose(20, 4)}"
    longest = max(len(line) for line in lines)
    for budget in range(longest + 24, 4 * longest):
        pages = paginate(text, budget)
        check_pages(text, pages, budget)
        done = 0
        for _, content, _ in pages[:-1]:
            done += len(content)
            if fence_at(text, 0, done, None) is not None:
                assert content.endswith("\n"), (budget, content[-30:])


def test_split_whole_pages_a_text_known_in_full() -> None:
    text = prose(30) + "\n\n```python\n" + "".join(f"value_{i} = {i}\n" for i in range(40))
    text += "```\n" + " " * 150 + "\n"
    pages = split_whole(text, 100)
    assert len(pages) > 5 and all(page.strip() for page in pages)  # the blank tail left out
    assert sum(page.startswith("```python\n") for page in pages) >= 4
    for page in pages:
        assert len(page) <= 100 and fence_at(page, 0, len(page), None) is None, page


def test_a_table_row_is_split_only_when_longer_than_a_page() -> None:
    """A row split over two messages shows neither part as a row of the table: inside a
    table a page ends at a line end wherever it is in the page, as inside code. Only a row
    longer than a page is split; it is closed and reopened like a fence (core.relay.paginate.Row):
    a pipe ends each part, and the next part opens with an empty cell per column passed."""
    rows = "".join(f"| {i} | {prose(i * 7 % 13 + 1, i)} | x |\n" for i in range(40))
    long_row = f"| 40 | {prose(120)} | y |\n"
    text = f"Intro\n\n| n | words | z |\n|---|---|---|\n{rows}{long_row}{rows}\nDone."
    long_start = text.index(long_row)
    long_end = long_start + len(long_row)
    for budget in range(110, 400, 7):
        pages = paginate(text, budget)
        assert "".join(content for _, content, _ in pages) == text
        done = 0
        for (opening, content, closing), after in itertools.pairwise(pages):
            done += len(content)
            markdown = markdown_of((opening, content, closing))
            assert len(markdown) <= budget, (budget, markdown)
            assert after[0] == closing
            if content.endswith("\n"):
                assert closing is None or isinstance(closing, Fence)
                continue
            assert long_start < done < long_end, (budget, content[-40:])  # only the long row
            passed = text[long_start:done].count("|")
            assert closing == Row(passed), (budget, content[-40:])
            assert markdown.rstrip().endswith("|")
            assert markdown_of(after).startswith("| " * passed)
        # Each later part of the long row is a row whose first cell is empty: its words are
        # in the middle column, the last part's "y" in the third.
        parts = [markdown_of(page).split("\n")[0] for page in pages if page[0] is not None]
        assert parts and all(part.count("|") == 3 for part in parts[:-1]), (budget, parts)
        assert parts[-1].startswith("| |") and parts[-1].endswith("| y |"), (budget, parts)


def test_a_rendering_many_times_the_markdown_still_gives_full_pages() -> None:
    """A table's long cell pads every row of its column, so a page may render several times
    its Markdown's size: the page shrinks until it fits, not down to one character."""
    text = prose(400)

    def measure(markdown: str) -> int:
        return 5 * len(markdown)

    pages = paginate(text, 1000, measure)
    check_pages(text, pages, 1000, measure)
    assert all(len(content) > 100 for _, content, _ in pages[:-1]), [len(c) for _, c, _ in pages]
