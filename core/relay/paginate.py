"""Fence-safe splitting of a growing reply into pages (pure; no I/O).

A page is one chat message. Its content is an exact slice ``text[start:end]`` of the reply's
Markdown, so joining the contents of all pages gives back the reply: nothing is truncated.
When a page ends inside a code fence, the fence is closed at the end of the page and
reopened (with its language) at the start of the next; those markers are added around the
content, never into it, and they count against the limit.

Pages are cut only at the *open* tail of a reply: the relay asks :func:`find_cut` whether
``text[start:]`` still fits one message and, when it does not, where to finish the current
page. A cut page is never looked at again, so the cost of a call is bounded by the page
size, not by the length of the reply.

Boundaries, best first: the end of a paragraph, the end of a line, a space between words
outside a link's text (:mod:`core.relay.breaks`); a hard cut, between two user-perceived
characters, only when the window has none. A boundary in the back half of the window wins
over a better kind in the front half, so pages stay reasonably full; except inside a code
block, where a page ends at a line end wherever it is (a code line split over two messages
reads as two broken lines), and at a space only when the page holds no line end at all.
A table row (a line that starts with a pipe) is kept whole the same way: a page ends inside
one only when the row alone is longer than the page. That row is then closed and reopened
like a fence (:class:`Row`), so each page shows its part of it as a row of the table.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from core.markdown_code import LANGUAGE, closes, fence_line
from core.relay.breaks import hard_end, is_word_break, link_start, word_end

__all__ = [
    "Cut",
    "Fence",
    "Measure",
    "Open",
    "Row",
    "cut_at",
    "fence_at",
    "find_cut",
    "open_at",
    "page_markdown",
]

Measure = Callable[[str], int]
"""The size a page's Markdown takes once sent: ``len(surface.render(markdown))``."""

# A line end, then the start of a line that may be a fence line (core.markdown_code.fence_line
# decides): at most three spaces, then a backtick or tilde.
_MAYBE_FENCE = re.compile(r"\n {0,3}[`~]")
# The start of a line that is kept whole like a line of code: a GFM table row, as agents
# write them (with a leading pipe; a row without one is read as prose here).
_ROW_START = re.compile(r" {0,3}\|")
# Columns a reopened row skips at most: its opener stays short whatever the row.
_MAX_SKIPPED = 20


@dataclass(frozen=True, slots=True)
class Fence:
    """An open code fence: ``marker`` is the run of backticks or tildes that opened it."""

    marker: str
    language: str = ""

    @property
    def opener(self) -> str:
        """The line that reopens this fence at the start of the next page."""
        return f"{self.marker}{self.language}\n"

    def closer_after(self, body: str) -> str:
        """The markup that closes this fence after ``body`` (on a line of its own)."""
        return self.marker if not body or body.endswith("\n") else "\n" + self.marker


@dataclass(frozen=True, slots=True)
class Row:
    """A table row the page ends inside, which happens only to a row longer than a page (a
    page ends at a line end before one, :func:`_boundary`), after ``pipes`` of its cell
    separators.

    A renderer gets one page's Markdown: the next page's text, which starts mid-row, reads
    as prose, and the platforms would show it and the rows after it as raw pipes (no header
    and delimiter row precede them). Only the paginator knows it cut a row, so it says so
    the way it does for a fence, by markers around the content and never in it: a pipe
    after this page's part makes that a whole row, and the next page opens with an empty
    cell for each column passed, so the rest of the row is a row, its text in its own
    column, which a renderer lays out as the rows of a table cut before them
    (:func:`adapters.markdown_tables.rows_at`). The open page of a stream is closed the
    same way, so a row still arriving is shown as one."""

    pipes: int

    @property
    def opener(self) -> str:
        """The empty cells that put the rest of the row in its column on the next page."""
        return "| " * min(self.pipes, _MAX_SKIPPED)

    def closer_after(self, body: str) -> str:
        """The pipe that ends this page's part of the row (none after one already)."""
        body = body.rstrip(" \t")
        return "" if body.endswith("|") and not body.endswith("\\|") else " |"


Open = Fence | Row
"""What a page may end inside of, closed at its end and reopened at the next page's start."""


@dataclass(frozen=True, slots=True)
class Cut:
    """Where to finish the open page: its content is ``text[start:end]``; ``fence`` is the
    fence or table row still open at ``end`` (closed on this page, reopened on the next),
    or ``None``."""

    end: int
    fence: Open | None


def _after_line(line: str, fence: Fence | None) -> Fence | None:
    found = fence_line(line)
    if found is None:
        return fence
    marker, info = found
    if fence is None:
        # A reopened fence keeps its language only when it is a plausible language tag: a
        # long or odd info string would eat into every continued page.
        words = info.split()
        language = words[0] if words and LANGUAGE.fullmatch(words[0]) else ""
        return Fence(marker, language)
    return None if closes(found, fence.marker) else fence


def fence_at(text: str, start: int, end: int, opening: Open | None) -> Fence | None:
    """The fence open at ``end``, given what is open at ``start``.

    Only whole lines of the original text are fence lines: when ``start`` is mid-line (after
    a word or hard cut), that line's rest is skipped. A last line without its newline counts:
    a reply often ends with a bare closing fence, and :func:`find_cut` never splits one.
    """
    fence = opening if isinstance(opening, Fence) else None
    pos = start
    if 0 < start < end and text[start - 1] != "\n":
        newline = text.find("\n", start, end)
        pos = end if newline < 0 else newline + 1
    # Only lines that may be fence lines are sliced and parsed: the first one if its start
    # says so, the others found by one scan in C (the relay calls this for every candidate
    # page end, over a page of lines that are mostly prose).
    if pos < end and text[pos : pos + 4].lstrip(" ")[:1] in ("`", "~"):
        fence = _after_line(_line(text, pos, end), fence)
    for candidate in _MAYBE_FENCE.finditer(text, pos, end):
        fence = _after_line(_line(text, candidate.start() + 1, end), fence)
    return fence


def open_at(text: str, start: int, end: int, opening: Open | None) -> Open | None:
    """What is open at ``end``, given what is open at ``start``: a fence (:func:`fence_at`),
    or a table row that ``end`` falls inside (:class:`Row`; a line that starts with a pipe,
    or the rest of a row reopened at ``start``)."""
    fence = fence_at(text, start, end, opening)
    if fence is not None or end <= start or text[end - 1] == "\n":
        return fence
    newline = text.rfind("\n", start, end)
    if newline >= 0 or start == 0 or text[start - 1] == "\n":
        line_start = start if newline < 0 else newline + 1
        if _ROW_START.match(text, line_start) is None:
            return None
        return Row(_pipes(text[line_start:end]))
    if isinstance(opening, Row):  # the page holds only part of the row it opened with
        return Row(opening.pipes + _pipes(text[start:end]))
    return None


def _pipes(row: str) -> int:
    """The cell separators in (part of) a row: its pipes, but not escaped ones."""
    return row.count("|") - row.count("\\|")


def _line(text: str, start: int, end: int) -> str:
    """The line starting at ``start``, without its newline, cut at ``end``."""
    newline = text.find("\n", start, end)
    return text[start : end if newline < 0 else newline]


def page_markdown(
    text: str, start: int, end: int, opening: Open | None, closing: Open | None
) -> str:
    """A page's Markdown: the reopened fence or row, the content, the closing one."""
    body = text[start:end]
    head = opening.opener if opening is not None else ""
    tail = closing.closer_after(body) if closing is not None else ""
    return f"{head}{body}{tail}"


def find_cut(
    text: str, start: int, opening: Open | None, budget: int, measure: Measure = len
) -> Cut | None:
    """Where to finish the page that starts at ``start``, or ``None`` when all of
    ``text[start:]`` fits in ``budget`` (with its fence markers, in Markdown and rendered).

    ``opening`` is the fence or row open at ``start``. The returned page is never empty, and it
    fits ``budget`` unless the fence markers alone do not (a limit too small to be sane).
    """
    head = len(opening.opener) if opening is not None else 0
    size = len(text) - start
    if head + size <= budget:
        closing = open_at(text, start, len(text), opening)
        whole = page_markdown(text, start, len(text), opening, closing)
        if len(whole) <= budget and measure(whole) <= budget:
            return None
    window = min(budget - head, size)
    while window >= 1:
        end = _boundary(text, start, start + window, opening)
        closing = open_at(text, start, end, opening)
        page = page_markdown(text, start, end, opening, closing)
        over = max(len(page), measure(page)) - budget
        if over <= 0:
            return Cut(end, closing)
        # The closing fence or rendering (escapes) made the page too big: shrink the window
        # by the excess and look for a boundary again; by half at most, since rendering can
        # grow a page many times over (a table's long cell pads every row of its column), and
        # an excess larger than the page would leave a one-character page.
        window = min(window - 1, max(end - start - over, (end - start) // 2))
    return Cut(start + 1, open_at(text, start, start + 1, opening))


def cut_at(
    text: str, start: int, end: int, opening: Open | None, budget: int, measure: Measure = len
) -> Cut | None:
    """A cut exactly at ``end`` when that is a clean place to end a page — inside a code
    block or a table row the end of a line, elsewhere the end of a word or line, off any
    fence line — and the page fits ``budget``; else ``None``."""
    if not start < end < len(text) or not is_word_break(text, end):
        return None
    if link_start(text, start, end) >= 0:
        return None  # a link's text: the page is filled instead, ending before the link
    if _off_fence_line(text, start, end, opening) != end:
        return None
    closing = open_at(text, start, end, opening)
    if closing is not None and text[end - 1] != "\n":
        return None  # a code line or row split over two messages reads as two broken ones
    page = page_markdown(text, start, end, opening, closing)
    if max(len(page), measure(page)) > budget:
        return None
    return Cut(end, closing)


def _boundary(text: str, start: int, limit: int, opening: Open | None) -> int:
    """The best end for a page ``text[start:end]`` with ``start < end <= limit``."""
    if limit >= len(text):
        return len(text)
    middle = start + (limit - start) // 2
    has_line_end = text.find("\n", start, limit) >= 0
    last_word: int | None = None  # looked for only when no line end will do (most pages end at one)
    for low in (middle, start + 1):
        for separator in ("\n\n", "\n"):
            found = text.rfind(separator, max(start, low - len(separator)), limit)
            if found >= 0 and found + len(separator) >= low:
                return _off_fence_line(text, start, found + len(separator), opening)
        if last_word is None:
            last_word = word_end(text, start, limit)
        if last_word >= low:
            if has_line_end and open_at(text, start, last_word, opening) is not None:
                continue  # inside code or a row only a line end will do, wherever it is
            return _off_fence_line(text, start, last_word, opening)
    return _off_fence_line(text, start, hard_end(text, start, limit), opening)


def _off_fence_line(text: str, start: int, end: int, opening: Open | None) -> int:
    """Move ``end`` off a fence line: never make or break a fence by cutting a line, and never
    end a page right after an opening fence line (an empty block, reopened next page)."""
    if text[end - 1] != "\n":
        if not _splits_fence_line(text, start, end):
            return end
        line_start = text.rfind("\n", start, end) + 1
        if line_start > start:
            return line_start
        # The page is one long line: step back a little, or cut into a fence-like marker
        # itself (a run of one or two backticks opens nothing); find_cut re-checks the size.
        candidates = list(range(end - 1, max(start, end - 16), -1))
        for base in (end, start):
            marker = base + len(text[base : base + 3]) - len(text[base : base + 3].lstrip(" "))
            candidates += [marker + 1, marker + 2]
        for candidate in candidates:
            if start < candidate < len(text) and not _splits_fence_line(text, start, candidate):
                return candidate
        return end
    previous = text.rfind("\n", start, end - 1) + 1
    if previous > start and fence_line(text[previous : end - 1]) is not None:
        before = fence_at(text, start, previous, opening)
        if before is None and fence_at(text, previous, end, None) is not None:
            return previous
    return end


def _splits_fence_line(text: str, start: int, end: int) -> bool:
    """Whether cutting the line at ``end`` changes what is a fence line: the line as written,
    or its part ending this page, is one, or its part opening the next page starts like one
    (how much of it that page shows is not known yet)."""
    newline = text.rfind("\n", start, end)
    if newline >= 0:
        line_start = newline + 1
    elif start == 0 or text[start - 1] == "\n":
        line_start = start
    else:
        line_start = -1  # began on an earlier page, whose cut checked its rest already
    line_end = text.find("\n", end)
    line_end = len(text) if line_end < 0 else line_end
    rest = text[end : min(line_end, end + 8)]
    opens_next = rest.lstrip(" ")[:3] in ("```", "~~~") and len(rest) - len(rest.lstrip(" ")) <= 3
    views = [text[max(start, line_start) : end]]
    if line_start >= 0:
        views.append(text[line_start:line_end])
    return opens_next or any(fence_line(view) is not None for view in views)
