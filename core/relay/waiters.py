"""The edit scheduler's queue: pending acquires in the order tokens are handed out.

Order is ``(not urgent, since, arrival)``: first texts and final edits before the rest, then
the most stale reply, then first come. The queue also keeps each bucket's count of waiters
needing it, which lets a dispatch pass stop as soon as a budget every waiter needs is empty.
A sorted list (``bisect``) beats a heap here: the dispatcher walks it in order, and removing a
granted or cancelled waiter is a binary search plus a C-speed memmove.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Iterator

from core.relay.budget import TokenBucket

__all__ = ["WaitQueue", "Waiter"]


class Waiter:
    """One pending acquire: what it needs and the future its caller awaits."""

    __slots__ = ("buckets", "future", "rank")

    def __init__(
        self,
        rank: tuple[int, float, int],
        buckets: tuple[TokenBucket, ...],
        future: asyncio.Future[None],
    ) -> None:
        self.rank = rank
        self.buckets = buckets
        self.future = future

    def __lt__(self, other: Waiter) -> bool:
        return self.rank < other.rank


class WaitQueue:
    """Waiters sorted by rank, with per-bucket waiting counts kept in step."""

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: list[Waiter] = []

    def add(self, waiter: Waiter) -> None:
        bisect.insort(self._items, waiter)
        for bucket in waiter.buckets:
            bucket.waiting += 1

    def remove(self, waiter: Waiter) -> bool:
        """Take ``waiter`` out; False if it was not queued (already granted or removed)."""
        index = bisect.bisect_left(self._items, waiter)
        if index >= len(self._items) or self._items[index] is not waiter:
            return False
        del self._items[index]
        for bucket in waiter.buckets:
            bucket.waiting -= 1
        return True

    def ahead(self, rank: tuple[int, float, float]) -> int:
        """How many queued waiters rank before ``rank`` (served before it)."""
        return bisect.bisect_left(self._items, rank, key=_rank)

    def snapshot(self) -> list[Waiter]:
        """The waiters in service order, as a copy the caller may walk while removing."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Waiter]:
        return iter(self._items)


def _rank(waiter: Waiter) -> tuple[int, float, float]:
    return waiter.rank
