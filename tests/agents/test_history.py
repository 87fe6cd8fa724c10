"""Chat history in real Redis and in memory."""

from __future__ import annotations

import socket

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from core.agents.history import ChatHistory, MemoryHistory
from core.errors import SessionStoreError


async def test_redis_history_round_trip_and_trim(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    history = ChatHistory(redis_client, namespace, 5)  # odd: trimmed to 4, pairs stay whole
    assert history.max_messages == 4
    for n in range(3):
        await history.append("s", f"q{n}", f"a{n} 😀")
    assert await history.load("s") == [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1 😀"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "a2 😀"},
    ]
    assert await history.load("other") == []


async def test_zero_messages_disables_history(redis_client: aioredis.Redis, namespace: str) -> None:
    history = ChatHistory(redis_client, namespace, 0)
    await history.append("s", "q", "a")
    assert await history.load("s") == []
    assert await redis_client.exists(history.key("s")) == 0


async def test_unreadable_entries_are_skipped(redis_client: aioredis.Redis, namespace: str) -> None:
    history = ChatHistory(redis_client, namespace, 10)
    await redis_client.rpush(history.key("s"), "not json", '{"role": "user"}', "[1]")
    await history.append("s", "q", "a")
    assert [m["content"] for m in await history.load("s")] == ["q", "a"]


async def test_redis_down_is_a_session_store_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = aioredis.Redis(port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0))
    history = ChatHistory(client, "x", 10)
    with pytest.raises(SessionStoreError):
        await history.load("s")
    with pytest.raises(SessionStoreError):
        await history.append("s", "q", "a")
    await client.aclose()


async def test_memory_history_bounds() -> None:
    history = MemoryHistory(2, max_sessions=2)
    await history.append("a", "q1", "r1")
    await history.append("a", "q2", "r2")
    assert await history.load("a") == [
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "r2"},
    ]
    await history.append("b", "q", "r")
    await history.append("c", "q", "r")  # evicts the least recently used session, "a"
    assert await history.load("a") == []
    assert len(await history.load("c")) == 2
