"""The reply's Markdown as pages: closed pages are frozen, only the open page grows.

The open page is kept as one string that is extended once per edit (not per chunk), and
compacted when a page closes, so every operation costs O(page), whatever the reply's length.
"""

from __future__ import annotations

from core.relay.paginate import Cut, Fence, Measure, cut_at, fence_at, find_cut, page_markdown

__all__ = ["PageBook"]


class PageBook:
    """Cuts a growing reply into pages of at most ``budget`` rendered characters."""

    __slots__ = ("_closed", "_opening", "_start", "_text", "budget", "closed_chars", "measure")

    def __init__(self, budget: int, measure: Measure) -> None:
        self.budget = budget
        self.measure = measure
        self._closed: list[str] = []  # the content of every closed page
        self.closed_chars = 0  # their length: where the open page starts in the reply
        self._text = ""  # the open page's content begins at ``_start``
        self._start = 0
        self._opening: Fence | None = None  # the fence reopened at the open page's start

    def extend(self, text: str) -> None:
        if self._start:
            self._text = self._text[self._start :]
            self._start = 0
        self._text += text

    def next_cut(self) -> Cut | None:
        """Where the open page must end, or ``None`` while all of it fits one message."""
        return find_cut(self._text, self._start, self._opening, self.budget, self.measure)

    def cut_at_shown(self, shown: int) -> Cut | None:
        """When the open page must end, a cut right where its first ``shown`` characters end
        (what its message shows already), if that is a clean boundary; else ``None``.

        Turning there leaves the message as it is (only its indicator goes, later), so the
        request at hand carries a whole page of *new* text; filling the old page instead
        would spend it on the page's remaining room, however little that is, and leave the
        rest for another request. Under load that is the difference between keeping up and
        falling behind; when edits keep up, the two cuts are a few words apart.
        """
        if self.next_cut() is None:
            return None
        return cut_at(
            self._text, self._start, self._start + shown, self._opening, self.budget, self.measure
        )

    def closed_markdown(self, cut: Cut) -> str:
        """The Markdown of the open page once finished at ``cut`` (fence closed)."""
        return page_markdown(self._text, self._start, cut.end, self._opening, cut.fence)

    def close(self, cut: Cut) -> None:
        """Freeze the open page at ``cut``; the rest becomes the next open page."""
        self._closed.append(self._text[self._start : cut.end])
        self.closed_chars += cut.end - self._start
        self._start = cut.end
        self._opening = cut.fence

    def open_markdown(self, *, close_fence: bool) -> str:
        """The open page's Markdown; ``close_fence`` closes a fence left open at its end (while
        streaming, so the platform shows a code block, and before a notice)."""
        end = len(self._text)
        closing = fence_at(self._text, self._start, end, self._opening) if close_fence else None
        return page_markdown(self._text, self._start, end, self._opening, closing)

    @property
    def open_content(self) -> str:
        return self._text[self._start :]

    @property
    def text(self) -> str:
        """The whole reply so far (joined on demand: call it once, at the end)."""
        return "".join(self._closed) + self._text[self._start :]
