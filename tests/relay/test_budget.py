"""The token bucket alone: GCRA pacing, 429 pauses, AIMD adaptation, idleness (no loop)."""

from __future__ import annotations

import pytest

from core.relay.budget import (
    DECREASE_FACTOR,
    FLOOR_FRACTION,
    IDLE_TTL,
    RECOVERY_PER_S,
    TokenBucket,
)
from core.surface import BudgetScope


def drain(bucket: TokenBucket, now: float) -> int:
    taken = 0
    while bucket.has_token(now):
        bucket.take(now)
        taken += 1
    return taken


def test_burst_then_steady_rate() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=5.0, burst=3), now=0.0)
    assert drain(bucket, 0.0) == 3  # a quiet bucket allows its burst at once
    assert bucket.ready_at() == pytest.approx(0.2)  # then one token per 1/rate
    assert drain(bucket, 0.19) == 0
    assert drain(bucket, 0.2) == 1
    assert drain(bucket, 10.0) == 3  # refills only up to the burst


def test_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(BudgetScope("k", rate=0.0), now=0.0)


def test_429_pauses_and_lowers_the_rate_once_per_episode() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=50.0, burst=5), now=0.0)
    bucket.rate_limited(now=1.0, retry_after=2.0)
    assert bucket.rate == pytest.approx(50.0 * DECREASE_FACTOR)
    assert not bucket.has_token(2.99)
    # edits that were in flight come back as 429s too: same episode, no second cut
    bucket.rate_limited(now=1.01, retry_after=2.0)
    assert bucket.rate == pytest.approx(50.0 * DECREASE_FACTOR)
    assert bucket.paused_until == pytest.approx(3.01)
    # after the pause: one token, not a burst (the spike that earned the 429)
    assert drain(bucket, 3.01) == 1
    bucket.rate_limited(now=4.0, retry_after=0.5)  # a new episode cuts again
    assert bucket.rate == pytest.approx(50.0 * DECREASE_FACTOR**2)


def test_rate_never_falls_below_the_floor() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=10.0), now=0.0)
    for episode in range(30):
        bucket.rate_limited(now=float(episode * 10), retry_after=1.0)
    assert bucket.rate == pytest.approx(10.0 * FLOOR_FRACTION)


def test_successes_recover_linearly_in_time_up_to_the_ceiling() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=50.0), now=0.0)
    bucket.rate_limited(now=0.0, retry_after=0.0)
    start = bucket.rate
    now = 0.0
    while bucket.rate < 50.0:  # edits succeed back to back at the current rate
        now += bucket.interval
        bucket.succeeded(now)
        assert bucket.rate <= 50.0
    expected = (50.0 - start) / (RECOVERY_PER_S * 50.0)  # 15 s for 35 -> 50
    assert now == pytest.approx(expected, rel=0.05)


def test_shared_pause_adapts_once_per_epoch() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=20.0), now=0.0)
    bucket.shared_pause(now=1.0, seconds=1.0, epoch=1)
    assert bucket.rate == pytest.approx(20.0 * DECREASE_FACTOR)
    assert not bucket.has_token(1.9)
    bucket.shared_pause(now=2.5, seconds=0.1, epoch=1)  # same episode seen again
    assert bucket.rate == pytest.approx(20.0 * DECREASE_FACTOR)
    assert bucket.has_token(2.6)


def test_idle_only_when_full_unpaused_unused_and_unwaited() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=1.0, burst=2), now=0.0)
    bucket.take(0.0)
    assert not bucket.is_idle(IDLE_TTL - 1)
    assert bucket.is_idle(IDLE_TTL)
    bucket.waiting = 1
    assert not bucket.is_idle(IDLE_TTL)
    bucket.waiting = 0
    bucket.rate_limited(now=IDLE_TTL, retry_after=3 * IDLE_TTL)
    assert not bucket.is_idle(3 * IDLE_TTL)  # still paused: its pause must not be forgotten


def test_configure_adopts_a_new_ceiling() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=50.0), now=0.0)
    bucket.configure(BudgetScope("k", rate=20.0, burst=4))
    assert (bucket.ceiling, bucket.rate, bucket.burst) == (20.0, 20.0, 4.0)
    assert "rate=20.00/20" in repr(bucket)


def test_a_slightly_late_take_keeps_its_slot_but_idle_time_is_not_banked() -> None:
    bucket = TokenBucket(BudgetScope("k", rate=10.0), now=0.0)
    bucket.take(0.0)
    bucket.take(0.11)  # the timer fired 10 ms late: the schedule does not slip
    assert bucket.ready_at() == pytest.approx(0.2)
    bucket.take(0.5)  # idle for a while: no credit for the unused time
    assert bucket.ready_at() == pytest.approx(0.6)


def test_a_token_due_within_a_millisecond_is_ready() -> None:
    """uvloop fires a timer up to 0.5 ms early (its clock counts milliseconds): the token the
    timer was set for must be there then, and taking it keeps the schedule."""
    bucket = TokenBucket(BudgetScope("k", rate=3.0), now=0.0)
    bucket.take(0.0)
    due = bucket.ready_at()
    assert not bucket.has_token(due - 0.002)
    assert bucket.has_token(due - 0.0009)
    bucket.take(due - 0.0009)
    assert bucket.ready_at() == pytest.approx(2 * due)  # the slot is kept, not moved earlier
