"""Quotas on a real Redis: turns per user and per channel in a rolling hour, concurrent
replies per user; several books (replicas) share the counters."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from core.deployment.schema import QuotaSpec
from core.governance.keys import quota_key
from core.governance.quotas import QuotaBook, QuotaGrant, QuotaRefusal
from core.turn import ThreadRef, Turn


def turn(message_id: str, *, user: str = "U1", channel: str = "C1", dm: bool = False) -> Turn:
    where = ThreadRef("slack", "T1", channel, "t")
    return Turn(where=where, user=user, message_id=message_id, text="hi", is_dm=dm)


async def shift_scores(redis: aioredis.Redis, key: str, by_ms: int) -> None:
    """Move every member's time (ms) as if the clock had run ``-by_ms``."""
    entries: list[Any] = await redis.zrange(key, 0, -1, withscores=True)
    assert entries
    await redis.zadd(key, {member: score + by_ms for member, score in entries})


def refused_again(again: QuotaGrant | QuotaRefusal, refused: QuotaRefusal) -> QuotaRefusal:
    """``again`` is a refusal for the same quota as ``refused``."""
    assert isinstance(again, QuotaRefusal)
    assert (again.kind, again.limit) == (refused.kind, refused.limit)
    return again


def book(redis: aioredis.Redis, namespace: str, **kw: float) -> QuotaBook:
    return QuotaBook(redis, namespace=namespace, slot_ttl=60.0, **kw)


async def test_user_turns_per_hour_across_replicas(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    limits = QuotaSpec(user_turns_per_hour=2)
    replicas = [book(redis_client, namespace), book(redis_client, namespace)]
    assert isinstance(await replicas[0].take(turn("m1"), limits), QuotaGrant)
    assert isinstance(await replicas[1].take(turn("m2", channel="C2"), limits), QuotaGrant)
    refused = await replicas[0].take(turn("m3", channel="C3"), limits)
    assert isinstance(refused, QuotaRefusal)
    assert refused.kind == "user_turns" and refused.limit == 2
    assert 3500 < refused.retry_after <= 3600  # the first turn leaves the window in ~1 h
    assert "limit of 2 messages an hour" in refused.notice and "minutes" in refused.notice
    assert isinstance(await replicas[1].take(turn("m4", user="U2"), limits), QuotaGrant)


async def test_the_window_rolls(redis_client: aioredis.Redis, namespace: str) -> None:
    limits = QuotaSpec(user_turns_per_hour=1)
    quotas = book(redis_client, namespace)
    assert isinstance(await quotas.take(turn("m1"), limits), QuotaGrant)
    assert isinstance(await quotas.take(turn("m2"), limits), QuotaRefusal)
    # An hour passes for the first turn: its score moves back past the window.
    key = quota_key(namespace, "user-turns", "slack", "U1")
    await shift_scores(redis_client, key, -3600_001)
    assert isinstance(await quotas.take(turn("m3"), limits), QuotaGrant)


async def test_channel_turns_and_dms(redis_client: aioredis.Redis, namespace: str) -> None:
    limits = QuotaSpec(channel_turns_per_hour=1)
    quotas = book(redis_client, namespace)
    assert isinstance(await quotas.take(turn("m1"), limits), QuotaGrant)
    refused = await quotas.take(turn("m2", user="U2"), limits)
    assert isinstance(refused, QuotaRefusal) and refused.kind == "channel_turns"
    assert "This channel has reached" in refused.notice
    # DMs are counted per user only.
    for n in range(3):
        assert isinstance(
            await quotas.take(turn(f"d{n}", channel="D1", dm=True), limits), QuotaGrant
        )


async def test_concurrent_replies_are_given_back(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    limits = QuotaSpec(user_concurrent_replies=1)
    quotas = book(redis_client, namespace)
    first = await quotas.take(turn("m1"), limits)
    assert isinstance(first, QuotaGrant) and first.slot is not None
    refused = await quotas.take(turn("m2"), limits)
    assert isinstance(refused, QuotaRefusal) and refused.kind == "concurrent"
    assert "already have 1 replies in progress" in refused.notice
    await quotas.release(first)
    assert isinstance(await quotas.take(turn("m3"), limits), QuotaGrant)


async def test_a_dead_replicas_reply_slot_expires(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    limits = QuotaSpec(user_concurrent_replies=1)
    quotas = book(redis_client, namespace)
    assert isinstance(await quotas.take(turn("m1"), limits), QuotaGrant)  # never released
    key = quota_key(namespace, "user-replies", "slack", "U1")
    await shift_scores(redis_client, key, -61_000)  # its expiry passes
    assert isinstance(await quotas.take(turn("m2"), limits), QuotaGrant)


async def test_a_refused_turn_takes_nothing(redis_client: aioredis.Redis, namespace: str) -> None:
    limits = QuotaSpec(user_turns_per_hour=5, channel_turns_per_hour=1, user_concurrent_replies=5)
    quotas = book(redis_client, namespace)
    assert isinstance(await quotas.take(turn("m1"), limits), QuotaGrant)
    assert isinstance(await quotas.take(turn("m2"), limits), QuotaRefusal)  # channel full
    user_key = quota_key(namespace, "user-turns", "slack", "U1")
    replies_key = quota_key(namespace, "user-replies", "slack", "U1")
    assert await redis_client.zcard(user_key) == 1
    assert await redis_client.zcard(replies_key) == 1


async def test_no_limits_touch_nothing(redis_client: aioredis.Redis, namespace: str) -> None:
    grant = await book(redis_client, namespace).take(turn("m1"), QuotaSpec())
    assert grant == QuotaGrant()
    assert await redis_client.keys(f"{namespace}:*") == []


async def test_a_repeated_take_counts_the_turn_once(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Issue 18.1: a take whose answer came too late may have run; asking again for the same
    turn (as the responder does while Redis only answers late) returns the first verdict —
    its reply slot the same — and counts nothing twice, even when the turn took the last slot."""
    limits = QuotaSpec(user_turns_per_hour=1, channel_turns_per_hour=1, user_concurrent_replies=1)
    quotas = book(redis_client, namespace)
    first = await quotas.take(turn("m1"), limits)
    assert isinstance(first, QuotaGrant) and first.slot is not None
    assert await quotas.take(turn("m1"), limits) == first
    for kind, ids in [("user-turns", ["U1"]), ("channel-turns", ["T1", "C1"]),
                      ("user-replies", ["U1"])]:  # fmt: skip
        assert await redis_client.zcard(quota_key(namespace, kind, "slack", *ids)) == 1, kind
    assert isinstance(await quotas.take(turn("m2"), limits), QuotaRefusal)  # the slot is taken
    await quotas.release(first)
    assert await redis_client.zcard(quota_key(namespace, "user-replies", "slack", "U1")) == 0


async def test_a_refused_turn_asked_again_is_refused_again(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    limits = QuotaSpec(user_turns_per_hour=1)
    quotas = book(redis_client, namespace)
    assert isinstance(await quotas.take(turn("m1"), limits), QuotaGrant)
    refused = await quotas.take(turn("m2"), limits)
    assert isinstance(refused, QuotaRefusal)
    refused_again(await quotas.take(turn("m2"), limits), refused)
    assert await redis_client.zcard(quota_key(namespace, "user-turns", "slack", "U1")) == 1


async def test_a_refused_turn_stays_refused_once_a_slot_frees(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """A user told "quota exceeded" gets no reply to that message after all: the same turn
    taken again (a Slack retry of the event) after a slot freed is refused again, with the
    same quota; a new message is granted, and the refusal is forgotten after the window."""
    limits = QuotaSpec(user_turns_per_hour=1)
    quotas = book(redis_client, namespace)
    assert isinstance(await quotas.take(turn("m1"), limits), QuotaGrant)
    refused = await quotas.take(turn("m2"), limits)
    assert isinstance(refused, QuotaRefusal) and refused.kind == "user_turns"
    user_turns = quota_key(namespace, "user-turns", "slack", "U1")
    await shift_scores(redis_client, user_turns, -3_600_000)  # m1 left the window
    again = await book(redis_client, namespace).take(turn("m2"), limits)  # another replica
    assert 0 <= refused_again(again, refused).retry_after <= refused.retry_after
    assert await redis_client.zcard(user_turns) == 1  # m1, out of the window: nothing taken
    assert isinstance(await quotas.take(turn("m3"), limits), QuotaGrant)
    await shift_scores(redis_client, user_turns, -3_600_000)
    await shift_scores(redis_client, quota_key(namespace, "user-refused", "slack", "U1"),
                       -3_600_000)  # fmt: skip
    assert isinstance(await quotas.take(turn("m2"), limits), QuotaGrant)
    assert await redis_client.hlen(quota_key(namespace, "user-verdicts", "slack", "U1")) == 0


async def test_a_refused_concurrent_reply_stays_refused(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    limits = QuotaSpec(user_concurrent_replies=1)
    quotas = book(redis_client, namespace)
    first = await quotas.take(turn("m1"), limits)
    assert isinstance(first, QuotaGrant)
    refused = await quotas.take(turn("m2"), limits)
    assert isinstance(refused, QuotaRefusal) and refused.kind == "concurrent"
    await quotas.release(first)
    again = await quotas.take(turn("m2"), limits)
    assert isinstance(again, QuotaRefusal) and again.kind == "concurrent"
    assert isinstance(await quotas.take(turn("m3"), limits), QuotaGrant)
