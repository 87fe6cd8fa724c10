"""The agent's text that has arrived but is not shown yet.

This is the per-chunk path, so it does O(chunk) work and nothing else: append the chunk,
note when text arrived (the edit scheduler serves the most stale text first), and wake the
writer. Joining happens once per edit, in :meth:`Inbox.take`.

Arrival times are kept as marks, one per :data:`MARK_EVERY` seconds of stream at most, so
the writer can tell how old the oldest text *not on screen* is even when an update shows
only part of what it took (a full page closed, the rest still to post): that part is then
ranked by its own age, not by the age of the oldest text the update took.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["MARK_EVERY", "Inbox"]

# Granularity of the arrival marks: an age is known to within this (it errs on the old
# side), and a reply keeps at most one mark per this much of its unshown text.
MARK_EVERY = 0.25


class Inbox:
    """Chunks between the agent's stream and the reply's writer."""

    __slots__ = ("_marks", "_pending", "changed", "ended", "received")

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._marks: deque[tuple[int, float]] = deque()  # (offset, loop time it arrived)
        self.received = 0
        """Characters received so far; offsets count from the reply's first character."""
        self.changed = asyncio.Event()
        self.ended = False

    def add(self, text: str) -> None:
        if not text:
            return
        now = asyncio.get_running_loop().time()
        marks = self._marks
        if not marks or now - marks[-1][1] >= MARK_EVERY:
            marks.append((self.received, now))
        self.received += len(text)
        self._pending.append(text)
        self.changed.set()

    def take(self) -> str:
        """Everything that arrived since the last take, joined."""
        joined = "".join(self._pending)
        self._pending.clear()
        return joined

    def arrived(self, offset: int) -> float | None:
        """Loop time the text at ``offset`` arrived (up to :data:`MARK_EVERY` earlier), or
        ``None`` when nothing from ``offset`` on has arrived. Marks before ``offset`` are
        dropped: the writer asks with the offset of the first character not shown yet,
        which only grows."""
        if offset >= self.received:
            return None
        marks = self._marks
        while len(marks) > 1 and marks[1][0] <= offset:
            marks.popleft()
        return marks[0][1]

    @property
    def last_arrival(self) -> float | None:
        """Loop time text last arrived (to within :data:`MARK_EVERY`), ``None`` before any."""
        return self._marks[-1][1] if self._marks else None

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def end(self) -> None:
        """No more text will come (the stream finished, failed or was stopped)."""
        self.ended = True
        self.changed.set()
