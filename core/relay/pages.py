"""The reply's Markdown as pages: closed pages are frozen, only the open page grows.

The open page is kept as one string that is extended once per edit (not per chunk), and
compacted when a page closes, so every operation costs O(page), whatever the reply's length.
"""

from __future__ import annotations

from core.relay.paginate import Cut, Measure, Open, cut_at, find_cut, open_at, page_markdown

__all__ = ["PageBook", "split_whole"]


class PageBook:
    """Cuts a growing reply into pages of at most ``budget`` rendered characters."""

    __slots__ = (
        "_closed",
        "_next_cut",
        "_opening",
        "_start",
        "_text",
        "budget",
        "closed_chars",
        "measure",
    )

    def __init__(self, budget: int, measure: Measure) -> None:
        self.budget = budget
        self.measure = measure
        self._closed: list[str] = []  # the content of every closed page
        self.closed_chars = 0  # their length: where the open page starts in the reply
        self._text = ""  # the open page's content begins at ``_start``
        self._start = 0
        self._opening: Open | None = None  # the fence or row reopened at the open page's start
        # The last next_cut() and the budget it was found for, until the open page changes:
        # a turn at the shown text asks first, then the pages it leaves are closed.
        self._next_cut: tuple[int, Cut | None] | None = None

    def copy(self) -> PageBook:
        """An independent book at the same point (to plan the rest without sending it)."""
        other = PageBook(self.budget, self.measure)
        other._closed = list(self._closed)
        other.closed_chars = self.closed_chars
        other._text, other._start, other._opening = self._text, self._start, self._opening
        return other

    def extend(self, text: str) -> None:
        self._next_cut = None
        if self._start:
            self._text = self._text[self._start :]
            self._start = 0
        self._text += text

    def next_cut(self) -> Cut | None:
        """Where the open page must end, or ``None`` while all of it fits one message."""
        if self._next_cut is None or self._next_cut[0] != self.budget:
            cut = find_cut(self._text, self._start, self._opening, self.budget, self.measure)
            self._next_cut = (self.budget, cut)
        return self._next_cut[1]

    def cut_at_shown(self, shown: int, *, behind: bool) -> Cut | None:
        """When the open page must end, a cut right where its first ``shown`` characters end
        (what its message shows already), if that is a clean boundary and worth it; else
        ``None``. Clean: inside a code block a line end, elsewhere a word's end; the stream
        may have got anywhere when the message was last edited, and where it stopped mid
        code line the page is filled instead (its final edit finishes the line).

        Turning there leaves the message as it is (only its indicator goes, later), so the
        request at hand carries a page of *new* text, where filling the old page would spend
        it on that page's remaining room and leave the rest for another request. Worth it
        when that saves a request (the new text needs fewer messages than all of it), and
        whenever the reply is ``behind`` (its text waits for a shared budget, where a second
        request would wait its turn too). Otherwise the page is filled, so a burst right
        after a reply's first words gives full pages, not a one-line message before them.
        Requests are counted in characters of Markdown: near enough to decide, and the cut
        itself is measured exactly.
        """
        if self.next_cut() is None:
            return None
        size = len(self._text) - self._start
        if not behind and _pages(size - shown, self.budget) >= _pages(size, self.budget):
            return None  # as many requests either way, and no hurry: fill the page instead
        return cut_at(
            self._text, self._start, self._start + shown, self._opening, self.budget, self.measure
        )

    def closed_markdown(self, cut: Cut) -> str:
        """The Markdown of the open page once finished at ``cut`` (fence closed)."""
        return page_markdown(self._text, self._start, cut.end, self._opening, cut.fence)

    def close(self, cut: Cut) -> None:
        """Freeze the open page at ``cut``; the rest becomes the next open page."""
        self._next_cut = None
        self._closed.append(self._text[self._start : cut.end])
        self.closed_chars += cut.end - self._start
        self._start = cut.end
        self._opening = cut.fence

    def open_markdown(self, *, close_fence: bool) -> str:
        """The open page's Markdown; ``close_fence`` closes a fence or table row left open at
        its end (while streaming, so the platform shows a code block, and before a notice)."""
        end = len(self._text)
        closing = open_at(self._text, self._start, end, self._opening) if close_fence else None
        return page_markdown(self._text, self._start, end, self._opening, closing)

    @property
    def open_content(self) -> str:
        return self._text[self._start :]

    @property
    def text(self) -> str:
        """The whole reply so far (joined on demand: call it once, at the end)."""
        return "".join(self._closed) + self._text[self._start :]


def _pages(chars: int, budget: int) -> int:
    return -(-chars // budget)


def split_whole(text: str, budget: int, measure: Measure = len) -> list[str]:
    """A text known in full (a fallback, a notice) as the Markdown of messages of at most
    ``budget``, cut where a streamed reply's pages are: never inside a code line, a word, a
    link or a user-perceived character, fences closed and reopened. Blank pages (which no
    platform accepts as a message) are left out."""
    book = PageBook(budget, measure)
    book.extend(text)
    pages = []
    while (cut := book.next_cut()) is not None:
        pages.append(book.closed_markdown(cut))
        book.close(cut)
    pages.append(book.open_markdown(close_fence=False))
    return [page for page in pages if page.strip()]
