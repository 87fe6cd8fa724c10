"""One scope's edit budget: a token bucket whose rate adapts to 429s like TCP (AIMD).

A platform's limits are partly undocumented ("50+ per minute"), so the configured rate is a
*ceiling*, not a promise. The bucket starts at the ceiling; a 429 pauses it for
``Retry-After`` and cuts the rate (multiplicative decrease); every successful edit raises it a
little (additive increase) until it is back at the ceiling. The bucket itself does no I/O
and never sleeps: :class:`~core.relay.scheduler.EditScheduler` owns the waiting.

The bucket is kept in GCRA form (one "theoretical arrival time" instead of a token count):
the next token is ready at ``tat - (burst - 1) * interval``, so the scheduler can sleep until
an exact instant instead of polling a refilling counter.

Tuning, for the case the design names (ceiling 50/s, platform 429s above 30/s, Retry-After
1 s): a 429 at ~30/s drops the rate to 21/s and pauses 1 s; the rate then climbs by
``RECOVERY_PER_S`` x ceiling = 1 edit/s per second, back to the wall in ~9 s, during which
~230 edits succeed. A cycle costs one or two 429s (the edits in flight when the wall is
hit), so 429s stay near 1 % of edits — under the 2 % target with margin — while the mean
rate stays ~75 % of the platform's real limit. Recovering twice as fast halves the cycle
and roughly doubles the 429 share, too close to the target.
"""

from __future__ import annotations

from core.surface import BudgetScope

__all__ = [
    "DECREASE_FACTOR",
    "FLOOR_FRACTION",
    "IDLE_TTL",
    "RECOVERY_PER_S",
    "TokenBucket",
]

# Multiplicative decrease on a 429. TCP halves; 0.7 because the platform's real wall is
# usually not far below the configured ceiling, and halving would waste half the budget
# for the many seconds additive increase needs to climb back.
DECREASE_FACTOR = 0.7
# The rate never falls below this share of the ceiling. Retry-After pauses already honour
# the platform; the floor only keeps a run of 429s from making recovery take minutes.
FLOOR_FRACTION = 0.1
# Additive increase: while edits succeed, the rate climbs by this share of the ceiling per
# second (each success adds ``RECOVERY_PER_S * ceiling / rate``, and successes arrive at
# ``rate`` per second). See the module docstring for why 2 %.
RECOVERY_PER_S = 0.02
# A bucket unused for this long, full and not paused, is forgotten (its adapted rate too):
# platform windows are at most a minute (Slack's per-minute tiers), so after that a fresh
# bucket at the ceiling is what the platform sees anyway.
IDLE_TTL = 60.0
# Loop-clock resolution: a token due within this margin counts as ready, so the scheduler
# never spins on a wake-up that lands a hair before the token. asyncio may fire a timer a
# clock tick early and looptime rounds fake time to 1 µs; uvloop's clock counts whole
# milliseconds and rounds a timer's delay to the nearest one, so its timers fire up to
# 0.5 ms early, and one asked for less than 0.5 ms ahead runs at once: with a margin below
# a millisecond the dispatcher woke ~10 times per token there instead of once. A token
# handed out up to 1 ms early keeps its slot in the schedule (``take`` counts from the
# slot), so the rate is the same.
EPSILON = 1e-3
# A token taken at most this share of an interval after it became ready keeps its slot in
# the schedule. Under load the loop fires timers ~0.1-1 ms late; with a burst of 1 every such
# delay would otherwise be lost for good (1,000 first texts at 50/s drifted 0.25 s late in
# the benchmark). The platform may then see two edits 0.75 interval apart, which a 1 s
# window still absorbs: it never holds more than rate + burst edits.
CATCH_UP = 0.25


class TokenBucket:
    """The live budget of one scope key; created lazily by the scheduler, evicted when idle."""

    __slots__ = (
        "_tat",
        "burst",
        "ceiling",
        "key",
        "last_used",
        "pause_epoch",
        "paused_until",
        "rate",
        "shared_until",
        "waiting",
    )

    def __init__(self, scope: BudgetScope, now: float) -> None:
        if scope.rate <= 0:
            raise ValueError(f"budget {scope.key!r}: rate must be positive, got {scope.rate}")
        self.key = scope.key
        self.ceiling = scope.rate
        self.burst = max(1.0, scope.burst)
        self.rate = scope.rate
        # GCRA state: tat <= now means a full bucket (``burst`` tokens ready).
        self._tat = now
        self.paused_until = now
        # Set from the shared store: another replica took the shared token; wait until then.
        self.shared_until = now
        # The last shared (Redis) pause episode this bucket has adapted to; see ``shared_pause``.
        self.pause_epoch = 0
        self.last_used = now
        # How many queued waiters need this bucket (kept by the scheduler).
        self.waiting = 0

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def ready_at(self) -> float:
        """The loop time at which this bucket can hand out its next token."""
        token = self._tat - (self.burst - 1.0) * self.interval
        return max(token, self.paused_until, self.shared_until)

    def has_token(self, now: float) -> bool:
        return self.ready_at() <= now + EPSILON

    def take(self, now: float) -> None:
        """Spend one token; the caller checked :meth:`has_token`."""
        late = now - self._tat
        self._tat = (now if late > CATCH_UP * self.interval else self._tat) + self.interval
        self.last_used = now

    def refund(self) -> None:
        """Give back a token taken for an edit that will not be sent (a cancelled acquire)."""
        self._tat -= self.interval

    def succeeded(self, now: float) -> None:
        """Additive increase, scaled so the rate climbs a fixed amount per second."""
        self.rate = min(self.ceiling, self.rate + RECOVERY_PER_S * self.ceiling / self.rate)
        self.last_used = now

    def rate_limited(self, now: float, retry_after: float) -> None:
        """A 429 for this scope: pause for ``retry_after`` and, once per episode, cut the rate.

        Edits already in flight when the platform started refusing come back as 429s too;
        only the first of an episode (one arriving while not paused) lowers the rate, as TCP
        reduces once per window, or a burst of in-flight failures would crush it to the floor.
        """
        if now >= self.paused_until:
            self._decrease()
        self._pause_until(now + retry_after)
        self.last_used = now

    def shared_pause(self, now: float, seconds: float, epoch: int) -> None:
        """Another replica's 429 recorded in the shared store: adapt once per episode."""
        if epoch > self.pause_epoch:
            self.pause_epoch = epoch
            if now >= self.paused_until:
                self._decrease()
        self._pause_until(now + seconds)

    def is_idle(self, now: float) -> bool:
        """No waiter, unused for ``IDLE_TTL``, full and not paused: safe to forget."""
        return (
            self.waiting == 0
            and now - self.last_used >= IDLE_TTL
            and now >= max(self._tat, self.paused_until, self.shared_until)
        )

    def configure(self, scope: BudgetScope) -> None:
        """Adopt a changed ceiling or burst (settings reloaded) without losing adaptation."""
        if scope.rate != self.ceiling and scope.rate > 0:
            self.ceiling = scope.rate
            self.rate = min(self.rate, self.ceiling)
        self.burst = max(1.0, scope.burst)

    def _decrease(self) -> None:
        self.rate = max(self.ceiling * FLOOR_FRACTION, self.rate * DECREASE_FACTOR)

    def _pause_until(self, until: float) -> None:
        self.paused_until = max(self.paused_until, until)
        # Empty the bucket as of the pause's end: the first edit after a pause is not the
        # start of a burst, or the platform would see the same spike that got us the 429.
        self._tat = max(self._tat, until + (self.burst - 1.0) * self.interval)

    def __repr__(self) -> str:
        return (
            f"<TokenBucket key={self.key!r} rate={self.rate:.2f}/{self.ceiling:g} "
            f"burst={self.burst:g} ready_at={self.ready_at():.3f} "
            f"paused_until={self.paused_until:.3f} waiting={self.waiting}>"
        )
