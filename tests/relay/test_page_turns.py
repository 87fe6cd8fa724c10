"""Where a page turns while a reply streams: inside a code block only at a line end, elsewhere
never inside a word.

The relay turns a full page where its message's text already ends (``PageBook.cut_at_shown``)
when that saves a request or the reply is behind, so the cut lands wherever the stream had got
to at the message's last edit. These tests put that point at every offset of a reply with a
long code block (the case of issue 18 item 7: ``line_77 =`` ending one Discord message and
``77`` starting the next), first on the pagination alone, then through the real relay.
"""

from __future__ import annotations

import re

import pytest

from core.relay import Relay
from core.relay.pages import PageBook
from core.relay.paginate import Cut, Fence, Open, fence_at
from core.surface import BudgetScope, SurfaceLimits
from tests.fake_time import IN_MEMORY
from tests.relay.helpers import SpyScheduler, scripted
from tests.relay.test_paginate import Page, check_pages, prose
from tests.surfaces import THREAD, RecordingSurface

DISCORD_PAGE = 2000 - len(" ▍")  # the writer reserves the indicator's room on every page


def reply_with_code() -> str:
    """About 6,500 characters: prose, an 80-line Python block, prose."""
    intro = "\n\n".join(prose(40 + i % 7, i) + "." for i in range(7))
    code = "".join(f"line_{i} = {i}  # step {i} of the pipeline, scaled\n" for i in range(80))
    outro = "\n\n".join(prose(32 + i % 5, i) + "." for i in range(5))
    return f"{intro}\n\nThe script:\n\n```python\n{code}```\n\n{outro}\n"


def assert_clean_boundary(text: str, offset: int) -> None:
    """A page boundary at ``offset``: inside a code block at a line end, elsewhere not inside
    a word."""
    fence = fence_at(text, 0, offset, None)
    around = repr(text[max(0, offset - 30) : offset]), repr(text[offset : offset + 30])
    if fence is not None:
        assert text[offset - 1] == "\n", ("a code line split", *around)
    else:
        assert text[offset - 1].isspace() or text[offset].isspace(), ("a word split", *around)


def assert_clean_pages(text: str, pages: list[Page], budget: int) -> None:
    check_pages(text, pages, budget)
    offset = 0
    for _, content, closing in pages[:-1]:
        offset += len(content)
        assert_clean_boundary(text, offset)
        if closing is not None:
            assert closing == Fence("```", "python")  # reopened with its language
    assert offset + len(pages[-1][1]) == len(text)


def turned_where_shown(text: str, offset: int, budget: int, *, behind: bool) -> list[Page]:
    """The pages the relay makes when its open message shows the reply up to ``offset`` (the
    stream's position at the last edit) and then the rest arrives: full pages closed as text
    arrives, a turn where the message ends if the book allows it, the rest paginated."""
    book = PageBook(budget, len)
    pages: list[Page] = []
    opening: Open | None = None

    def close(cut: Cut) -> None:
        nonlocal opening
        before = book.closed_chars
        book.close(cut)
        pages.append((opening, text[before : book.closed_chars], cut.fence))
        opening = cut.fence

    book.extend(text[:offset])
    while (cut := book.next_cut()) is not None:
        close(cut)
    shown = offset - book.closed_chars
    book.extend(text[offset:])
    if (cut := book.cut_at_shown(shown, behind=behind)) is not None:
        close(cut)
    while (cut := book.next_cut()) is not None:
        close(cut)
    pages.append((opening, text[book.closed_chars :], None))
    return pages


def test_a_page_turned_where_its_message_ends_is_clean_at_every_offset() -> None:
    text = reply_with_code()
    assert 6400 < len(text) < 6600
    checked: set[tuple[Page, ...]] = set()  # most offsets give pages checked already
    for behind in (True, False):
        for offset in range(1, len(text)):
            pages = turned_where_shown(text, offset, DISCORD_PAGE, behind=behind)
            if tuple(pages) not in checked:  # the checks are pure: the same pages pass again
                assert_clean_pages(text, pages, DISCORD_PAGE)
                checked.add(tuple(pages))


def page_contents(full: str, messages: list[str]) -> list[str]:
    """Each message's share of ``full``: its text without the fence markers pagination added
    (a reopened fence at its start, a closing fence at its end)."""
    contents: list[str] = []
    done = 0
    for message in messages:
        opening = fence_at(full, 0, done, None)
        body = message.removeprefix(opening.opener) if opening is not None else message
        if not full.startswith(body, done):
            # A closed fence: "```" after a line end, else "\n```" (the longest content first).
            fits = [body.removesuffix(m) for m in ("```", "\n```")]
            fits = [content for content in fits if full.startswith(content, done)]
            assert fits, (full[done : done + 40], body[:40])
            body = fits[0]
        contents.append(body)
        done += len(body)
    return contents


@IN_MEMORY
@pytest.mark.parametrize("lead", range(10))
async def test_a_long_code_reply_on_discord_never_splits_a_code_line(lead: int) -> None:
    """The reported case through the real relay: Discord's limits and per-thread budget, a
    6,500-character reply streamed as word-sized tokens at 20 per second. ``lead`` words
    before it shift the token an edit ends at through every token of a code line (ten)."""
    limits = SurfaceLimits(max_message_chars=2000, min_edit_interval=1.0, max_file_bytes=1)
    scope = BudgetScope("discord:channel:1", rate=4 / 5)  # 4 requests per 5 s, as the adapter
    surface = RecordingSurface(limits=limits, scopes=[scope], edit_latency=0.05)
    text = "a " * lead + reply_with_code()
    tokens = re.findall(r"\S+\s*|\s+", text)
    assert "".join(tokens) == text
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.05, token) for token in tokens])
    )
    assert outcome.status == "completed"

    messages = surface.texts(THREAD)
    assert len(messages) >= 4
    contents = page_contents(text, messages)
    assert "".join(contents) == text
    done = 0
    for message, content in zip(messages[:-1], contents, strict=False):
        assert len(message) <= 2000
        assert fence_at(message, 0, len(message), None) is None, message[-80:]
        done += len(content)
        assert_clean_boundary(text, done)
    assert sum(m.startswith("```python\n") for m in messages) >= 1
