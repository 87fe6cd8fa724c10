"""A follow-up's thread lookup when Redis cannot answer at all (refused: down): a thread
this process answered lately is answered (the turn then gets the store notice, or the
reply once Redis is back); any other is left alone, so an outage does not make the bot
speak up in every thread. A late answer is asked again: see ``test_store_timeouts``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bots.slack.follow_ups import FollowUps
from core.errors import SessionStoreError
from core.sessions.connect import redis_client
from core.sessions.gate import TurnGate


@pytest.fixture
async def dead_redis() -> AsyncIterator[aioredis.Redis]:
    client = redis_client("redis://127.0.0.1:1/0")  # nothing listens on port 1
    yield client
    await client.aclose()


async def test_redis_down_answers_only_the_threads_answered_here_lately(
    dead_redis: aioredis.Redis,
) -> None:
    follow_ups = FollowUps(TurnGate(dead_redis, redis_patience=0.2), remembered=2)
    with pytest.raises(SessionStoreError):
        await follow_ups.has_conversation("slack:T1:C1:1.0")
    for conversation in ("slack:T1:C1:1.0", "slack:T1:C1:2.0", "slack:T1:C1:3.0"):
        follow_ups.answering(conversation)
    assert await follow_ups.ours("slack:T1:C1:3.0", "m1")
    assert await follow_ups.ours("slack:T1:C1:2.0", "m2")
    assert not await follow_ups.ours("slack:T1:C1:1.0", "m3")  # forgotten: only 2 kept
    assert not await follow_ups.ours("slack:T1:C9:1.0", "m4")  # never answered here
