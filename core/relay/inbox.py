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
import math
from collections import deque

__all__ = ["HOLD_MAX", "HOLD_MIN", "HOLD_SHARE", "MARK_EVERY", "Inbox"]

# How long the agent's stream may go unread (core/agents/batching.py): this share of the time
# the writer takes between two updates of the reply, at most HOLD_MAX, and none below
# HOLD_MIN (a hold shorter than the agent's gap between chunks batches nothing and costs a
# timer). At 20 chunks/s: none while a reply is updated every second or two (Discord's
# channel pace at N <= 50), 0.2 s (4 chunks per read) at 4 s, 1 s (20) from 20 s on (1,000
# replies on Discord's shared 46/s).
HOLD_SHARE = 0.05
HOLD_MIN = 0.1
HOLD_MAX = 1.0

# Granularity of the arrival marks: an age is known to within this (it errs on the old
# side), and a reply keeps at most one mark per this much of its unshown text.
MARK_EVERY = 0.25


class Inbox:
    """Chunks between the agent's stream and the reply's writer."""

    __slots__ = (
        "_expected_at",
        "_marks",
        "_pending",
        "_take_gap",
        "_taken_at",
        "changed",
        "ended",
        "received",
    )

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._marks: deque[tuple[int, float]] = deque()  # (offset, loop time it arrived)
        self.received = 0
        """Characters received so far; offsets count from the reply's first character."""
        self.changed = asyncio.Event()
        self.ended = False
        self._taken_at: float | None = None  # loop time of the writer's last take
        self._take_gap = 0.0  # seconds between the writer's last two takes
        self._expected_at = -math.inf  # loop time the writer expects its next take at

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
        now = asyncio.get_running_loop().time()
        if self._taken_at is not None:
            self._take_gap = now - self._taken_at
        elif self._marks:  # the first update: the gap is how long its text waited
            self._take_gap = now - self._marks[0][1]
        self._taken_at = now
        self._expected_at = -math.inf  # that update came: its estimate is spent
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

    def expect(self, wait: float) -> None:
        """The writer waits for its next update about ``wait`` seconds from now (the edit
        scheduler's estimate): the text waits that long anyway, so :meth:`read_hold` may
        count on it before the wait has passed (a reply whose first post is queued behind
        1,000 others is read in batches from its start, not after seconds of it)."""
        self._expected_at = asyncio.get_running_loop().time() + wait

    def read_hold(self) -> float:
        """Seconds the agent's stream may go unread now (:data:`HOLD_SHARE` of how long the
        writer takes between updates, so the text's wait for its edit grows by that share
        at most). That gap is the longest of: the last one (the first update's: how long its
        text waited), the time since the last update (before the first: since the first
        text), and the time from then to the update the writer expects (:meth:`expect`)."""
        if not self._marks:
            return 0.0
        now = asyncio.get_running_loop().time()
        start = self._taken_at if self._taken_at is not None else self._marks[0][1]
        hold = HOLD_SHARE * max(self._take_gap, now - start, self._expected_at - start)
        return 0.0 if hold < HOLD_MIN else min(hold, HOLD_MAX)

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
