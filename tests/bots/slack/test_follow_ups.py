"""A follow-up's thread lookup when Redis cannot answer at all (refused: down): a thread
this process answered lately is answered (the turn then gets the store notice, or the
reply once Redis is back); any other is left alone, so an outage does not make the bot
speak up in every thread. A late answer is asked again: see ``test_store_timeouts``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bots.slack.follow_ups import FollowUps
from core.errors import PlatformUnavailable, SessionStoreError
from core.sessions.connect import redis_client
from core.sessions.gate import TurnGate
from core.turn import ThreadRef


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


async def test_redis_down_a_thread_the_bot_posted_in_gets_the_store_notice(
    dead_redis: aioredis.Redis,
) -> None:
    """Not answered here lately: the thread is looked at (``looks``: on Slack, see
    ``test_follow_ups_replicas``); the bot's thread gets the store notice, any other thread
    is left alone, and so is one Slack cannot show either."""
    posted = {"1.0": True, "2.0": False}

    async def looks(where: ThreadRef) -> bool:
        if where.thread not in posted:
            raise PlatformUnavailable("Slack is down too")
        return posted[where.thread]

    follow_ups = FollowUps(TurnGate(dead_redis, redis_patience=0.2), looks=looks)
    follow_ups.answering("slack:T1:C1:9.0")

    def at(thread: str) -> ThreadRef:
        return ThreadRef("slack", "T1", "C1", thread)

    assert await follow_ups.verdict("slack:T1:C1:9.0", "m0", at("9.0")) == "answer"
    assert await follow_ups.verdict("slack:T1:C1:1.0", "m1", at("1.0")) == "store-down"
    assert await follow_ups.verdict("slack:T1:C1:2.0", "m2", at("2.0")) == "ignore"
    assert await follow_ups.verdict("slack:T1:C1:3.0", "m3", at("3.0")) == "ignore"
    assert not await follow_ups.ours("slack:T1:C1:1.0", "m4")  # no thread given: no look
