"""The counts ``threadcast usage`` shows always say what the votes say: a vote and its
count are one atomic step in Redis, so a changed vote moves one count, a repeated one moves
none, and a call that times out (or a process that dies) cannot leave one without the
other. Against the real Redis, behind a proxy that can lose one command
(:class:`~tests.bots.discord.slow_redis.SlowRedis`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter

import pytest
import redis.asyncio as aioredis

from core.errors import SessionStoreError
from core.feedback.model import ReplyRef, ReplyTag
from core.feedback.service import Feedback
from core.feedback.store import FeedbackStore
from tests.bots.discord.slow_redis import SlowRedis

REF = ReplyRef("slack", "T1", "C1", "1712.0001")
TAG = ReplyTag(REF, "1712.0000", "conversation", "s-1", "support")

# A separate HINCRBY command, as RESP puts it on the wire (a script's body, sent by EVAL,
# is one bulk string: it never holds this).
COUNTS_WRITE = b"$7\r\nHINCRBY\r\n"

Step = tuple[str, str]  # (voter, "up" / "down" / "why:<reason>")

CASES: dict[str, list[Step]] = {
    "first vote": [("U1", "up")],
    "changed vote": [("U1", "up"), ("U1", "down")],
    "changed back": [("U1", "up"), ("U1", "down"), ("U1", "up")],
    "repeated vote": [("U1", "down"), ("U1", "down")],
    "reason after the vote": [("U1", "down"), ("U1", "why:Wrong.")],
    "reason replacing a 👍": [("U1", "up"), ("U1", "why:Off topic.")],
}


async def _cast(feedback: Feedback, voter: str, what: str) -> None:
    if what.startswith("why:"):
        await feedback.reason(REF, voter, what.removeprefix("why:"))
    else:
        await feedback.vote(REF, voter, "up" if what == "up" else "down")


async def _standing(store: FeedbackStore, voters: list[str]) -> dict[str, dict[str, int]]:
    """The counts the stored votes call for."""
    tally: Counter[str] = Counter()
    for voter in voters:
        current = await store.current(REF, voter)
        if current is not None:
            tally[current.vote] += 1
    return {"support": {"up": tally["up"], "down": tally["down"]}}


@pytest.mark.parametrize("steps", list(CASES.values()), ids=list(CASES))
async def test_counts_equal_the_votes_even_when_the_last_call_is_cut_short(
    steps: list[Step], redis_url: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    """Counts written apart from the vote (a second call after the vote's script) were
    lost when that call was: the 👍 changed to 👎 stayed counted as a 👍, and a click
    again ("same") never put it right."""
    reader = FeedbackStore(redis_client, namespace=namespace)
    async with SlowRedis(redis_url) as proxy:
        client: aioredis.Redis = aioredis.from_url(proxy.url)
        try:
            feedback = Feedback(FeedbackStore(client, namespace=namespace))
            await feedback.offer(TAG)
            await feedback.vote(REF, "U2", "up")  # another person's vote, standing
            for voter, what in steps[:-1]:
                await _cast(feedback, voter, what)
            proxy.swallow(COUNTS_WRITE)  # a count written on its own never gets there
            with contextlib.suppress(SessionStoreError):
                await _cast(feedback, *steps[-1])
        finally:
            await client.aclose()
    assert await reader.counts() == await _standing(reader, ["U1", "U2"])
    current = await reader.current(REF, "U1")
    assert current is not None and current.vote == ("up" if steps[-1][1] == "up" else "down")


async def test_counts_equal_the_votes_through_changes_repeats_and_two_clients(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The same person on two clients (phone and desktop) clicking at once, and several
    people changing and repeating their votes: one vote each, counted once."""
    store = FeedbackStore(redis_client, namespace=namespace)
    feedback = Feedback(store)
    await feedback.offer(TAG)
    voters = ["U1", "U2", "U3"]
    rounds: list[list[Step]] = [
        [("U1", "up"), ("U1", "down")],  # two clients at once
        [("U2", "down"), ("U2", "down"), ("U3", "up")],
        [("U2", "up"), ("U2", "why:Slow."), ("U1", "up"), ("U1", "up")],
        [("U3", "down"), ("U3", "up"), ("U3", "down")],
    ]
    for steps in rounds:
        await asyncio.gather(*(_cast(feedback, voter, what) for voter, what in steps))
        assert await store.counts() == await _standing(store, voters)
    total = sum((await store.counts())["support"].values())
    assert total == 3  # one standing vote per person
