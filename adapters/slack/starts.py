"""Whether a reply's next message starts as a native stream, decided per message.

``chat.startStream`` is Tier 2 (20+ per minute per workspace; docs.slack.dev
reference/methods/chat.startStream). When many replies start together, most would wait
tens of seconds for their start. Instead each message is decided when the relay first asks
for its budget (:meth:`StartPlanner.plan`): natively when the workspace's start budget can
serve it within :data:`START_WAIT`, otherwise the way edit mode streams (``chat.postMessage``
then ``chat.update``, on the ``chat.update`` budget). Both budgets are then used together,
and no reply waits for a stream start.

The start budget is a :class:`~core.relay.budget.TokenBucket` of the same rate and burst as
the ``chat.startStream`` scope the relay's scheduler paces: a plan takes its token here, and
the scheduler's matching token is then ready too. A ``chat.startStream`` answered 429
(another replica, or Slack's real limit lower than configured) pauses it for Retry-After
(:meth:`StartPlanner.refused`), so the next replies are posted instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.relay.budget import TokenBucket
from core.surface import BudgetScope

__all__ = ["START_WAIT", "StartPlanner"]

START_WAIT = 1.0
"""Seconds a message may wait for its stream start; beyond that it is posted and edited."""
_PLAN_TTL = 60.0  # a plan never used (its post cancelled) is decided afresh after this
_MAX_PLANS = 10_000

Key = tuple[str, str | None]  # (channel, thread)


@dataclass(slots=True)
class _Plan:
    native: bool
    at: float


class StartPlanner:
    """Plans of one surface: the start budget per workspace and each thread's next message."""

    def __init__(self, *, per_minute: float, burst: float) -> None:
        self._rate = per_minute / 60.0
        self._burst = burst
        self._buckets: dict[str, TokenBucket] = {}  # chat.startStream scope key -> budget
        self._plans: dict[Key, _Plan] = {}

    def plan(self, key: Key, scope: str, now: float) -> bool:
        """Whether the next message in thread ``key`` starts natively (asked again before
        the same post, the answer stays: the relay asks before every attempt)."""
        planned = self._plans.get(key)
        if planned is not None and now - planned.at < _PLAN_TTL:
            return planned.native
        bucket = self._bucket(scope, now)
        native = bucket.ready_at() <= now + START_WAIT
        if native:
            bucket.take(now)
        self._plans[key] = _Plan(native, now)
        while len(self._plans) > _MAX_PLANS:
            del self._plans[next(iter(self._plans))]
        return native

    def take(self, key: Key, scope: str, now: float) -> bool:
        """The plan for the message being posted now (made now if the relay never asked),
        forgotten: the thread's next message is decided afresh."""
        native = self.plan(key, scope, now)
        self._plans.pop(key, None)
        return native

    def refused(self, scope: str, now: float, retry_after: float) -> None:
        """Slack answered ``chat.startStream`` with 429: no native start until it allows."""
        self._bucket(scope, now).rate_limited(now, retry_after)

    def _bucket(self, scope: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(scope)
        if bucket is None or bucket.is_idle(now):
            bucket = TokenBucket(BudgetScope(scope, rate=self._rate, burst=self._burst), now)
            self._buckets[scope] = bucket
        return bucket
