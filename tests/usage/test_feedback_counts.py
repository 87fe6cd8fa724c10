"""``threadcast usage`` shows the 👍 / 👎 votes standing per agent."""

from __future__ import annotations

import io
import json

import redis.asyncio as aioredis

from bots.usage import run_usage
from core.config import Settings
from core.feedback.model import ReplyRef, ReplyTag, VoteRecord, VoteValue
from core.feedback.store import FeedbackStore


async def test_usage_prints_the_votes(redis_url: str, namespace: str) -> None:
    redis = aioredis.from_url(redis_url)
    try:
        store = FeedbackStore(redis, namespace=namespace)
        tag = ReplyTag(ReplyRef("slack", "T1", "C1", "1.5"), "1.0", "conv", "s-1", "support")
        votes: list[tuple[str, VoteValue]] = [("U1", "up"), ("U2", "up"), ("U3", "down"),
                                              ("U2", "down")]  # fmt: skip
        for voter, vote in votes:
            await store.vote(VoteRecord(tag, voter, vote, None, "2026-12-05T07:00:00+00:00"))
    finally:
        await redis.aclose()
    settings = Settings(agent="demo", redis_url=redis_url, redis_namespace=namespace)
    table, as_json = io.StringIO(), io.StringIO()
    await run_usage(settings, days=1, by="agent", as_json=False, out=table)
    await run_usage(settings, days=1, by="agent", as_json=True, out=as_json)
    # U2 changed their 👍 to 👎: one vote per person per reply.
    assert json.loads(as_json.getvalue())["feedback"] == {"support": {"up": 1, "down": 2}}
    lines = table.getvalue().splitlines()
    assert lines[-2].split()[0] == "feedback" and lines[-1].split() == ["support", "1", "2"]
