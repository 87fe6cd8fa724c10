"""One surface call at a time, made to get through: budget first, then the call, bounded.

Every post, edit or upload of a reply draws on the budgets its surface declares for the
thread, so it first waits for the edit scheduler, then runs under a timeout. What happens on
failure depends on whether the call must get through:

- a *transient* call (an intermediate edit) is tried once: the next edit carries newer text
  anyway, so retrying an old one would only spend budget;
- a *persistent* call (first text, final edits, files, notices) is retried: after a 429
  once its ``Retry-After`` has passed; after an outage (:class:`~core.errors.PlatformUnavailable`:
  a 5xx, a timeout, the platform unreachable) with exponential backoff for up to
  ``retry_for`` seconds — an outage of several minutes is outlived, not turned into a lost
  reply; after other failures (refusals) a few times, with the same backoff. What an
  outage still holds back is left to crash recovery (:mod:`core.ops.recovery`), which
  keeps it until the platform is back.

Waiting for the budget is not a failure. A transient call gives up after
``acquire_timeout`` (newer text follows anyway); a *patient* wait (every persistent call,
and a reply's first text) waits as long as the queue is: under a flood of replies a post
may wait minutes for its channel's budget, and giving up then would end the reply in
silence, its notice needing the same exhausted budget. While it waits, the time it spends
queued does not count against the reply's :class:`Deadline` (the calls themselves stay
bounded by ``call_timeout`` and the retry counts), and after ``queued_after`` seconds
``on_queued`` is told, so the thread can say the reply is queued. Nor does a call in
flight: the deadline never cuts one off (it is bounded by ``call_timeout``), because a
call cut off has an unknown outcome — a post may land after the reply gave up on it, left
streaming with no one to finish it, or not land, the message left with no answer. Nor
does a bounded step a call waits for (:meth:`Sender.aside`: a reply's feedback record).

:class:`~core.errors.MessageGone` and :class:`~core.errors.MessageTooLong` are never retried
here: the caller answers them (post a new message, cut a smaller page). Nor is
:class:`~core.errors.Undeliverable`: the place takes nothing any more; nor
:class:`~core.errors.FileRefused`: the same files would be refused again. Anything else a
surface raises is translated into :class:`~core.errors.SurfaceError`, so a buggy adapter
cannot crash a reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from core.errors import (
    FileRefused,
    MessageGone,
    MessageTooLong,
    PlatformUnavailable,
    RateLimited,
    SurfaceError,
    Undeliverable,
)
from core.surface import BudgetScope, SurfaceAction

__all__ = ["Deadline", "EditBudget", "RetryPolicy", "Sender"]

log = logging.getLogger(__name__)

T = TypeVar("T")


ScopesOf = Callable[[SurfaceAction], Sequence[BudgetScope]]


class EditBudget(Protocol):
    """What the relay needs of :class:`~core.relay.scheduler.EditScheduler`."""

    async def acquire(
        self, scopes: Sequence[BudgetScope], *, urgent: bool, since: float
    ) -> None: ...

    def expected_wait(
        self, scopes: Sequence[BudgetScope], *, urgent: bool, since: float
    ) -> float: ...

    def succeeded(self, scopes: Sequence[BudgetScope]) -> None: ...

    def rate_limited(self, scopes: Sequence[BudgetScope], error: RateLimited) -> None: ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to wait for what, and how often to try again."""

    # A platform API answers in well under a second; after this long it is hung.
    call_timeout: float = 30.0
    # Under a saturated budget a non-urgent edit waits about N / B seconds (20 s for 1,000
    # replies at 50 edits/s); far beyond that something is stuck.
    acquire_timeout: float = 120.0
    # Tries of a persistent call the platform refused (not a 429, not an outage).
    attempts: int = 4
    # A persistent call meeting an outage (PlatformUnavailable: a 5xx, a timeout, the
    # platform unreachable) is retried this long after its first failure: Slack and Discord
    # outages of a few minutes happen, and the reply must outlive them.
    retry_for: float = 300.0
    # 429s a persistent call may meet before it gives up: each one waits Retry-After, and
    # the scheduler lowers the rate meanwhile, so a handful is plenty.
    rate_limit_retries: int = 8
    # Exponential backoff between failed tries: 0.5, 1, 2, 4, 8, 8 … seconds.
    backoff: float = 0.5
    max_backoff: float = 8.0
    # Everything after the agent's stream ended (final edits, notice) gives up after this,
    # not counting the time spent queued for the budget nor in calls (see Deadline).
    finish_timeout: float = 300.0
    # A patient wait for the budget this long tells ``Sender.on_queued`` (thread status).
    queued_after: float = 3.0

    def backoff_after(self, failures: int) -> float:
        return min(self.max_backoff, self.backoff * 2.0 ** max(0, failures - 1))


class Sender:
    """Makes the surface calls of one reply, in one thread, through the shared budget."""

    def __init__(
        self,
        budget: EditBudget,
        scopes: Mapping[SurfaceAction, Sequence[BudgetScope]] | ScopesOf,
        policy: RetryPolicy,
    ) -> None:
        """``scopes``: fixed per action, or asked before each call (a surface whose budget
        changes mid-reply: a Slack stream that fell back to chat.update)."""
        self._budget = budget
        if callable(scopes):
            self._scopes_of: ScopesOf = lambda kind: tuple(scopes(kind))
        else:
            fixed = {action: tuple(found) for action, found in scopes.items()}
            self._scopes_of = lambda kind: fixed.get(kind, ())
        self._policy = policy
        self._prepaid: SurfaceAction | None = None
        self.in_call = False
        """Whether a surface call is in flight (cancelling now could lose its result)."""
        self.on_queued: Callable[[SurfaceAction], None] | None = None
        """Told when a patient wait for the budget has lasted ``policy.queued_after``."""
        self._deadline: Deadline | None = None
        self._paused_for_call: Deadline | None = None  # paused by the call in flight

    @property
    def deadline(self) -> Deadline | None:
        """Paused while a patient wait queues for the budget, and while a call is in flight
        (see the module docstring); set while the reply finishes, perhaps during a call."""
        return self._deadline

    @deadline.setter
    def deadline(self, value: Deadline | None) -> None:
        if self._paused_for_call is not None and self._paused_for_call is not value:
            self._paused_for_call = None  # that deadline is over: nothing to resume
        self._deadline = value
        if self.in_call:
            self._pause_for_call()

    def _pause_for_call(self) -> None:
        """Pause the deadline while a call is in flight (once, however often asked: a
        deadline set during the call is paused here too)."""
        deadline = self._deadline
        if deadline is not None and self._paused_for_call is None:
            deadline.pause()
            self._paused_for_call = deadline

    def _resume_after_call(self) -> None:
        paused, self._paused_for_call = self._paused_for_call, None
        if paused is not None:
            paused.resume()

    async def acquire(
        self, kind: SurfaceAction, *, urgent: bool, since: float, patient: bool = False
    ) -> None:
        """Take a token now; the next :meth:`call` spends it instead of waiting again.

        The relay acquires *before* it collects the text to show, so an edit carries
        everything that arrived while it waited for the budget. ``patient``: wait as long
        as the queue is (a reply's first text), else give up after ``acquire_timeout``.
        """
        await self._wait_for_budget(kind, urgent=urgent, since=since, patient=patient)
        self._prepaid = kind

    def expected_wait(self, kind: SurfaceAction, *, urgent: bool, since: float) -> float:
        """Roughly how long :meth:`acquire` with these arguments would wait now (the
        scheduler's estimate: see :meth:`~core.relay.scheduler.EditScheduler.expected_wait`)."""
        return self._budget.expected_wait(self._scopes_of(kind), urgent=urgent, since=since)

    def forfeit(self) -> None:
        """Drop an unspent token (the edit turned out unnecessary): a token kept for later
        would let a later call skip the budget."""
        self._prepaid = None

    async def post_urgently(self, action: Callable[[], Awaitable[T]]) -> T:
        """A post of something no later update shows (a notice, files, structured data):
        ahead of the queued edits, and retried like any persistent call."""
        return await self.call(action, kind="post", urgent=True, persistent=True)

    async def call(
        self,
        action: Callable[[], Awaitable[T]],
        *,
        kind: SurfaceAction,
        urgent: bool,
        since: float | None = None,
        persistent: bool,
    ) -> T:
        """Run ``action`` under the budget and a timeout; see the module docstring."""
        loop = asyncio.get_running_loop()
        failures = 0
        rate_limits = 0
        give_up: float | None = None  # loop time past which a failing call is not retried
        scopes = self._scopes_of(kind)
        while True:
            prepaid, self._prepaid = self._prepaid, None  # a token is spent once
            # A token prepaid for other budgets (another kind of call) is worthless here.
            if prepaid is None or self._scopes_of(prepaid) != scopes:
                stale_since = loop.time() if since is None else since
                await self._wait_for_budget(
                    kind, urgent=urgent, since=stale_since, patient=persistent
                )
            try:
                result = await self._attempt(action)
            except RateLimited as exc:
                self._budget.rate_limited(scopes, exc)
                rate_limits += 1
                if not persistent or rate_limits > self._policy.rate_limit_retries:
                    raise
                # The scheduler pauses the scope too, but a surface without scopes has no
                # scheduler to wait on: honour Retry-After here as well.
                await asyncio.sleep(exc.retry_after)
                continue
            except (MessageGone, MessageTooLong, Undeliverable, FileRefused):
                raise
            except Exception as exc:
                error = _as_surface_error(exc)
                failures += 1
                now = loop.time()
                if give_up is None:
                    give_up = now + self._policy.retry_for
                if isinstance(error, PlatformUnavailable):
                    exhausted = now >= give_up
                else:
                    exhausted = failures >= self._policy.attempts
                if not persistent or exhausted:
                    raise error from exc
                log.warning("surface call failed (%s), retry %d", error, failures)
                await asyncio.sleep(min(self._policy.backoff_after(failures), give_up - now))
                continue
            self._budget.succeeded(scopes)
            return result

    async def aside(self, waiting: Awaitable[T]) -> T:
        """Await ``waiting``, a step a call needs that is not a surface call (a reply's
        feedback record, before the final edit that shows the controls), bounded on its
        own: the reply's deadline is paused meanwhile, as for a call in flight."""
        deadline = self.deadline
        if deadline is not None:
            deadline.pause()
        try:
            return await waiting
        finally:
            if deadline is not None:
                deadline.resume()

    async def _attempt(self, action: Callable[[], Awaitable[T]]) -> T:
        self.in_call = True
        self._pause_for_call()
        try:
            async with asyncio.timeout(self._policy.call_timeout):
                return await action()
        finally:
            self.in_call = False
            self._resume_after_call()

    async def _wait_for_budget(
        self, kind: SurfaceAction, *, urgent: bool, since: float, patient: bool
    ) -> None:
        scopes = self._scopes_of(kind)
        if not patient:
            try:
                async with asyncio.timeout(self._policy.acquire_timeout):
                    await self._budget.acquire(scopes, urgent=urgent, since=since)
            except TimeoutError:
                raise SurfaceError("timed out waiting for the edit budget") from None
            return
        loop = asyncio.get_running_loop()
        told = self.on_queued
        timer = None if told is None else loop.call_later(self._policy.queued_after, told, kind)
        deadline = self.deadline
        if deadline is not None:
            deadline.pause()
        try:
            await self._budget.acquire(scopes, urgent=urgent, since=since)
        finally:
            if timer is not None:
                timer.cancel()
            if deadline is not None:
                deadline.resume()


class Deadline:
    """An ``asyncio.timeout`` that stops running while a reply queues for the budget, and
    while one of its calls is in flight.

    The finishing of a reply is bounded (a hung platform must not hold a turn for ever),
    but the time its posts wait in the budget's queue is the queue's, not the reply's: a
    flood of replies must delay the final text, never turn it into a timeout. A call in
    flight is bounded by its own ``call_timeout``, and is never cut off half-way (see the
    module docstring).
    """

    def __init__(self, timeout: asyncio.Timeout) -> None:
        self._timeout = timeout
        self._left: float | None = None
        self._paused = 0

    def pause(self) -> None:
        self._paused += 1
        when = self._timeout.when()
        if self._paused == 1 and when is not None:
            self._left = max(0.0, when - asyncio.get_running_loop().time())
            self._timeout.reschedule(None)

    def resume(self) -> None:
        self._paused -= 1
        if self._paused == 0 and self._left is not None:
            if not self._timeout.expired():
                self._timeout.reschedule(asyncio.get_running_loop().time() + self._left)
            self._left = None


def _as_surface_error(exc: BaseException) -> SurfaceError:
    if isinstance(exc, SurfaceError):
        return exc
    if isinstance(exc, TimeoutError):
        return PlatformUnavailable("the chat platform did not answer in time")
    log.error("surface raised %r; adapters should raise core.errors only", exc, exc_info=exc)
    return SurfaceError(f"{type(exc).__name__}: {exc}")
