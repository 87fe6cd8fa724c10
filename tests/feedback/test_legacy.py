"""An upgrade from the key layout before ``{feedback}`` loses no feedback: the old counts
are carried into the new hash once, however many replicas start at once or again, and a
vote stored under the old key is the voter's previous vote (a changed one moves its count).
The old data is written here as the old version wrote it, under its literal keys."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bots.usage import run_usage
from core.config import Settings
from core.feedback import legacy
from core.feedback.model import ReplyRef, ReplyTag, VoteRecord, VoteValue
from core.feedback.service import Feedback
from core.feedback.store import FeedbackStore

REF = ReplyRef("slack", "T1", "C1", "1712.0001")
TAG = ReplyTag(REF, "1712.0000", "conversation", "s-1", "support")
OLD_COUNTS = {"up:support": 3, "down:support": 1, "up:triage": 2}
CARRIED = {"support": {"up": 3, "down": 1}, "triage": {"up": 2, "down": 0}}


async def _usage_feedback(redis_url: str, namespace: str) -> object:
    settings = Settings(agent="demo", redis_url=redis_url, redis_namespace=namespace)
    out = io.StringIO()
    await run_usage(settings, days=1, by="agent", as_json=True, out=out)
    return json.loads(out.getvalue())["feedback"]


@pytest.fixture
async def old_counts(redis_client: aioredis.Redis, namespace: str) -> str:
    key = f"{namespace}:feedback:counts"
    for field, value in OLD_COUNTS.items():  # as the old version counted
        await redis_client.hincrby(key, field, value)
    return key


@pytest.fixture
async def clients(redis_url: str) -> AsyncIterator[list[aioredis.Redis]]:
    opened = [aioredis.from_url(redis_url, decode_responses=True) for _ in range(3)]
    try:
        yield opened
    finally:
        for client in opened:
            await client.aclose()


async def test_old_counts_are_carried_once_by_replicas_starting_together_and_again(
    old_counts: str, clients: list[aioredis.Redis], redis_url: str, namespace: str
) -> None:
    stores = [FeedbackStore(client, namespace=namespace) for client in clients]
    first = await asyncio.gather(*(store.counts() for store in stores))
    assert first == [CARRIED] * 3
    assert await clients[0].exists(old_counts) == 0
    again = FeedbackStore(clients[0], namespace=namespace)  # a replica restarting
    await again.tag(TAG)
    assert await again.counts() == CARRIED
    assert await _usage_feedback(redis_url, namespace) == CARRIED


async def test_a_replica_dying_halfway_leaves_the_counts_to_the_next_one(
    old_counts: str, redis_client: aioredis.Redis, namespace: str
) -> None:
    """Claimed and carried, not yet deleted: the next start deletes the old hash and adds
    nothing again; claimed only: the next one carries it, under the same claim."""
    store = FeedbackStore(redis_client, namespace=namespace)
    claim = [legacy.CLAIM_FIELD, "dead-replica"]
    raw = await legacy.CLAIM_COUNTS(redis_client, [old_counts], claim)
    carried = [legacy.carried_key(namespace)]
    values = ["dead-replica", *(x for pair in OLD_COUNTS.items() for x in pair)]
    assert await legacy.CARRY_COUNTS(redis_client, [store.counts_key, *carried], values) == 1
    assert len(raw) == 2 * (len(OLD_COUNTS) + 1)
    assert await store.counts() == CARRIED
    assert await redis_client.exists(old_counts) == 0
    # An old replica still running (a rolling upgrade) counts again into the old hash;
    # one that dies right after claiming it leaves it claimed.
    await redis_client.hincrby(old_counts, "down:support", 1)
    await legacy.CLAIM_COUNTS(redis_client, [old_counts], [legacy.CLAIM_FIELD, "dead-again"])
    assert await FeedbackStore(redis_client, namespace=namespace).counts() == {
        "support": {"up": 3, "down": 2},
        "triage": {"up": 2, "down": 0},
    }
    assert await redis_client.exists(old_counts) == 0


def _old_vote_key(namespace: str, voter: str) -> str:
    return f"{namespace}:feedback:vote:slack:T1:C1:1712.0001:{voter}"


async def _old_vote(
    redis: aioredis.Redis, namespace: str, voter: str, vote: VoteValue, reason: str | None = None
) -> str:
    """``voter``'s vote as the old version stored and counted it."""
    record = VoteRecord(TAG, voter, vote, reason, "2026-12-01T07:00:00+00:00")
    key = _old_vote_key(namespace, voter)
    await redis.set(key, json.dumps(record.to_json()), ex=3600)
    await redis.hincrby(f"{namespace}:feedback:counts", f"{vote}:support", 1)
    return key


@pytest.fixture
async def feedback(redis_client: aioredis.Redis, namespace: str) -> Feedback:
    feedback = Feedback(FeedbackStore(redis_client, namespace=namespace))
    await feedback.offer(TAG)
    return feedback


async def test_an_old_up_changed_to_down_after_the_upgrade_moves_its_count(
    redis_client: aioredis.Redis, namespace: str, redis_url: str
) -> None:
    old_key = await _old_vote(redis_client, namespace, "U1", "up")
    await _old_vote(redis_client, namespace, "U2", "up")
    feedback = Feedback(FeedbackStore(redis_client, namespace=namespace))  # the upgrade
    await feedback.offer(TAG)
    changed = await feedback.vote(REF, "U1", "down")
    assert changed.status == "changed"
    assert await _usage_feedback(redis_url, namespace) == {"support": {"up": 1, "down": 1}}
    assert await redis_client.exists(old_key) == 0
    current = await feedback.store.current(REF, "U1")
    assert current is not None and current.vote == "down"
    # Changed back: the count moves again, once.
    assert (await feedback.vote(REF, "U1", "up")).status == "changed"
    assert await feedback.store.counts() == {"support": {"up": 2, "down": 0}}


async def test_an_old_down_cast_again_keeps_its_reason_and_count(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    old_key = await _old_vote(redis_client, namespace, "U1", "down", "Wrong answer.")
    feedback = Feedback(FeedbackStore(redis_client, namespace=namespace))  # the upgrade
    await feedback.offer(TAG)
    again = await feedback.vote(REF, "U1", "down")
    assert again.status == "same" and again.record is not None
    assert again.record.reason == "Wrong answer."
    current = await feedback.store.current(REF, "U1")
    assert current is not None and (current.vote, current.reason) == ("down", "Wrong answer.")
    assert await redis_client.exists(old_key) == 0
    assert await feedback.store.counts() == {"support": {"up": 0, "down": 1}}


async def test_an_old_vote_changed_on_two_clients_at_once_counts_once(
    redis_client: aioredis.Redis, namespace: str, clients: list[aioredis.Redis]
) -> None:
    await _old_vote(redis_client, namespace, "U1", "up")
    replicas = [Feedback(FeedbackStore(client, namespace=namespace)) for client in clients]
    await replicas[0].offer(TAG)
    await asyncio.gather(*(replica.vote(REF, "U1", "down") for replica in replicas))
    assert await replicas[0].store.counts() == {"support": {"up": 0, "down": 1}}


async def test_the_old_key_is_read_for_a_first_vote_only(
    redis_client: aioredis.Redis, namespace: str, feedback: Feedback
) -> None:
    """Once a vote is under the new key, it is the previous vote: an old key there (which
    no upgrade leaves: it would have been taken) is never read, so never counted."""
    assert (await feedback.vote(REF, "U1", "up")).status == "recorded"
    planted = _old_vote_key(namespace, "U1")
    await redis_client.set(planted, json.dumps({"vote": "down", "agent": "support"}))
    assert (await feedback.vote(REF, "U1", "down")).status == "changed"
    assert await feedback.store.counts() == {"support": {"up": 0, "down": 1}}
    assert await redis_client.exists(planted) == 1
