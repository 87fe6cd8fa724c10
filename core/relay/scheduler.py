"""The edit scheduler: one per process, it hands out every scope's edit budget.

Edits are a shared budget, not a per-message right: Slack limits ``chat.update`` per
workspace, Discord limits each channel and the whole bot. Every streaming reply asks
:meth:`EditScheduler.acquire` before each edit, and the scheduler decides who goes next:

1. urgent requests (a reply's first text, a final edit) before the rest, because a user
   waiting for any sign of an answer, or for the end of one, suffers most;
2. then the most stale reply (smallest ``since``: the loop time of its oldest text not yet
   shown), which is what spreads a budget of B edits/s fairly over N replies, each refreshed
   about every N / B seconds;
3. a waiter blocked on one scope never blocks waiters whose scopes are free: the dispatcher
   walks the queue in priority order and grants *every* waiter whose scopes all have a token.

One dispatcher task runs while anyone waits. It never polls: after a pass it sleeps until
the earliest instant a blocked waiter could be served, and is woken early when a waiter
arrives or leaves or a 429 changes a rate. A pass stops as soon as a budget that *every*
queued waiter needs is empty (the usual case: the bot-wide budget), so it costs the grants
made plus the waiters blocked on narrower scopes ahead of that point, O(waiters) at worst.

With a :class:`SharedBudgetStore`, a waiter the local budgets allow also needs a token from
Redis, shared by every replica; the local order and adaptation stay as they are.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
from collections.abc import Coroutine, Sequence
from typing import Any

from core.errors import RateLimited, SessionStoreError
from core.ops import metrics
from core.relay.budget import TokenBucket
from core.relay.shared_budget import SharedBudgetStore
from core.relay.waiters import Waiter, WaitQueue
from core.surface import BudgetScope

__all__ = ["EditScheduler"]

log = logging.getLogger(__name__)

# Idle buckets are swept at most this often: a sweep is O(buckets), so not on every acquire.
_SWEEP_EVERY = 30.0
# After the shared store fails, budgets stay local this long before Redis is tried again, so
# an outage costs one timeout per period instead of one per edit.
_SHARED_RETRY_AFTER = 5.0


class EditScheduler:
    """Owns the edit budgets of every scope in this process; see the module docstring."""

    def __init__(self, *, shared: SharedBudgetStore | None = None) -> None:
        self._shared = shared
        self._shared_down_until = -math.inf
        self._buckets: dict[str, TokenBucket] = {}
        self._waiters = WaitQueue()
        self._arrivals = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Future[None] | None = None
        self._dirty = False  # something changed since the dispatcher's pass began
        self._next_sweep = -math.inf
        self._reports: set[asyncio.Task[None]] = set()

    async def acquire(self, scopes: Sequence[BudgetScope], *, urgent: bool, since: float) -> None:
        """Wait until every scope has a token, then take one from each.

        Cancellation-safe: a cancelled acquire leaves the queue and takes nothing.
        """
        if not scopes:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        self._sweep(now)
        buckets = tuple({b.key: b for b in (self._bucket(s, now) for s in scopes)}.values())
        if self._shared is None and not self._waiters and all(b.has_token(now) for b in buckets):
            for bucket in buckets:  # nobody queued and every budget free: no need to queue
                bucket.take(now)
            return
        rank = (0 if urgent else 1, since, next(self._arrivals))
        waiter = Waiter(rank, buckets, loop.create_future())
        self._waiters.add(waiter)
        self._poke()
        self._ensure_dispatcher(loop)
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                for bucket in buckets:  # granted just as we were cancelled: give it back
                    bucket.refund()
            else:
                self._waiters.remove(waiter)
            self._poke()
            raise

    def expected_wait(self, scopes: Sequence[BudgetScope], *, urgent: bool, since: float) -> float:
        """Seconds an :meth:`acquire` made now would roughly wait: for each scope, until its
        bucket's next token plus one interval per queued waiter ahead that needs it (no
        later arrival jumping the queue, no rate change). An estimate, for work that may
        wait as long (a reply's stream read in batches, :meth:`core.relay.inbox.Inbox.expect`),
        never for pacing. O(log waiters)."""
        now = asyncio.get_running_loop().time()
        ahead = self._waiters.ahead((0 if urgent else 1, since, math.inf)) if self._waiters else 0
        wait = 0.0
        for scope in scopes:
            bucket = self._buckets.get(scope.key)
            if bucket is not None:
                queued = min(ahead, bucket.waiting)
                wait = max(wait, bucket.ready_at() - now + queued * bucket.interval)
        return wait

    def succeeded(self, scopes: Sequence[BudgetScope]) -> None:
        """An edit went through: additive increase of each scope's rate."""
        now = asyncio.get_running_loop().time()
        for scope in scopes:
            self._bucket(scope, now).succeeded(now)

    def rate_limited(self, scopes: Sequence[BudgetScope], error: RateLimited) -> None:
        """A 429: pause the scope it names (all of ``scopes`` if none) and lower its rate.

        A 429 naming a scope the request does not hold (a Slack stream that fell back to
        chat.update) pauses that scope's bucket if there is one, never the held ones.
        """
        now = asyncio.get_running_loop().time()
        metrics.rate_limited([error.scope] if error.scope else [s.key for s in scopes])
        buckets = [self._bucket(s, now) for s in scopes if error.scope in (None, s.key)]
        if error.scope is not None and not buckets:
            other = self._buckets.get(error.scope)
            buckets = [other] if other is not None else []
        for bucket in buckets:
            bucket.rate_limited(now, error.retry_after)
            if self._shared is not None:
                self._report(self._record_pause(self._shared, bucket, error.retry_after))
        self._poke()

    def bucket(self, key: str) -> TokenBucket | None:
        """The live bucket of a scope key, if any (for inspection and tests)."""
        return self._buckets.get(key)

    @property
    def waiters(self) -> int:
        return len(self._waiters)

    async def flush(self) -> None:
        """Wait until 429 pauses reported so far are recorded in the shared store."""
        while self._reports:
            await asyncio.gather(*self._reports, return_exceptions=True)

    # --- dispatching -----------------------------------------------------------------------

    def _ensure_dispatcher(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._task is None or self._task.done() or self._task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="edit-scheduler")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._waiters:
                self._dirty = False
                wake = await self._dispatch(loop)
                if self._waiters and not self._dirty:
                    await self._sleep_until(loop, wake)
        except Exception as exc:  # a bug here must fail the waiters, not hang every reply
            log.exception("edit scheduler failed")
            for waiter in self._waiters.snapshot():
                self._waiters.remove(waiter)
                if not waiter.future.done():
                    waiter.future.set_exception(exc)

    async def _dispatch(self, loop: asyncio.AbstractEventLoop) -> float | None:
        """Grant every waiter that can go now, in priority order; return when to look again."""
        now = loop.time()
        wake: float | None = None
        for waiter in self._waiters.snapshot():  # grants remove; the shared store awaits
            if waiter.future.done():
                continue  # cancelled; its acquire removes it
            blocker = next((b for b in waiter.buckets if not b.has_token(now)), None)
            if blocker is None and self._shared is not None and now >= self._shared_down_until:
                blocker = await self._take_shared(self._shared, waiter, loop)
                now = loop.time()
                if waiter.future.done():
                    continue  # cancelled during the round trip; that shared token is lost
            if blocker is None:
                self._grant(waiter, now)
                continue
            ready = max(b.ready_at() for b in waiter.buckets)
            wake = ready if wake is None else min(wake, ready)
            if blocker.waiting >= len(self._waiters):
                break  # every waiter still queued needs this empty budget: nobody else can go
        return wake

    async def _take_shared(
        self, store: SharedBudgetStore, waiter: Waiter, loop: asyncio.AbstractEventLoop
    ) -> TokenBucket | None:
        """Ask Redis for the waiter's tokens; return the bucket that must wait, if any."""
        try:
            verdict = await store.take([(b.key, b.rate, b.burst) for b in waiter.buckets])
        except SessionStoreError as exc:
            self._shared_down_until = loop.time() + _SHARED_RETRY_AFTER
            log.warning("using local edit budgets for %.0fs: %s", _SHARED_RETRY_AFTER, exc)
            return None  # the local budgets already allow it
        if verdict.granted:
            return None
        now = loop.time()
        bucket = waiter.buckets[verdict.index]
        if verdict.pause_epoch:
            bucket.shared_pause(now, verdict.wait, verdict.pause_epoch)
        else:
            bucket.shared_until = max(bucket.shared_until, now + verdict.wait)
        return bucket

    def _grant(self, waiter: Waiter, now: float) -> None:
        self._waiters.remove(waiter)
        for bucket in waiter.buckets:
            bucket.take(now)
        waiter.future.set_result(None)

    async def _sleep_until(self, loop: asyncio.AbstractEventLoop, when: float | None) -> None:
        # Same clock as loop.time() and asyncio.sleep, so fake-time tests drive it too.
        wakeup: asyncio.Future[None] = loop.create_future()
        self._wakeup = wakeup
        timer = None if when is None else loop.call_at(when, _resolve, wakeup)
        try:
            await wakeup
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    def _poke(self) -> None:
        self._dirty = True
        if self._wakeup is not None:
            _resolve(self._wakeup)

    # --- bookkeeping -----------------------------------------------------------------------

    def _bucket(self, scope: BudgetScope, now: float) -> TokenBucket:
        bucket = self._buckets.get(scope.key)
        if bucket is None:
            bucket = self._buckets[scope.key] = TokenBucket(scope, now)
        elif bucket.ceiling != scope.rate or bucket.burst != max(1.0, scope.burst):
            bucket.configure(scope)
        return bucket

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY
        for key in [k for k, b in self._buckets.items() if b.is_idle(now)]:
            del self._buckets[key]

    def _report(self, coro: Coroutine[Any, Any, None]) -> None:
        # rate_limited() is synchronous; the Redis write runs beside it, held here.
        task = asyncio.get_running_loop().create_task(coro)
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _record_pause(
        self, store: SharedBudgetStore, bucket: TokenBucket, seconds: float
    ) -> None:
        try:
            epoch = await store.pause(bucket.key, seconds)
        except SessionStoreError as exc:
            log.warning("429 pause not shared with other replicas: %s", exc)
            return
        bucket.pause_epoch = max(bucket.pause_epoch, epoch)  # our own episode: adapted already

    def __repr__(self) -> str:
        shown = ", ".join(repr(b) for b in itertools.islice(self._buckets.values(), 5))
        more = f" +{len(self._buckets) - 5}" if len(self._buckets) > 5 else ""
        return (
            f"<EditScheduler waiters={len(self._waiters)} shared={self._shared is not None} "
            f"buckets=[{shown}{more}]>"
        )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
