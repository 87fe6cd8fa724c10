"""The Redis pool's direct checkout (core/sessions/pool.py) hands out only idle connections
nobody waits for: queued callers keep their order, and a connection goes back for reuse."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection

from core.sessions.connect import redis_client
from core.sessions.pool import CheckoutPool


def _pool(client: aioredis.Redis) -> CheckoutPool:
    pool = client.connection_pool
    assert isinstance(pool, CheckoutPool)
    return pool


async def _queued(pool: CheckoutPool, count: int) -> None:
    """Until ``count`` tasks wait on the pool's condition (its only waiting place)."""
    while len(getattr(pool._condition, "_waiters", ())) < count:  # noqa: ASYNC110 - pool state
        await asyncio.sleep(0)


async def test_calls_reuse_one_idle_connection(redis_url: str, namespace: str) -> None:
    client = redis_client(redis_url, max_connections=4)
    pool = _pool(client)
    try:
        for i in range(20):
            await client.set(f"{namespace}:k", i)
        assert await client.get(f"{namespace}:k") == "19"
        assert len(pool._available_connections) == 1
        assert not pool._in_use_connections
    finally:
        await client.aclose()


async def test_a_queued_caller_is_served_before_a_later_one(redis_url: str) -> None:
    """With the only connection held, A then B queue; the release goes to A, and B gets
    the connection when A gives it back (a direct checkout would let B jump the queue, a
    direct check-in would leave A waiting until its timeout)."""
    client = redis_client(redis_url, max_connections=1)
    pool = _pool(client)
    order: list[str] = []

    async def take(name: str) -> AbstractConnection:
        connection = await pool.get_connection()
        order.append(name)
        return connection

    try:
        held = await pool.get_connection()
        first = asyncio.create_task(take("A"))
        await _queued(pool, 1)
        second = asyncio.create_task(take("B"))
        await _queued(pool, 2)
        await pool.release(held)
        served = await first
        assert order == ["A"]
        assert not second.done()
        await pool.release(served)
        await pool.release(await second)
        assert order == ["A", "B"]
        assert len(pool._available_connections) == 1
    finally:
        await client.aclose()


async def test_a_connection_closed_while_idle_is_reconnected(redis_url: str) -> None:
    """The direct checkout still checks the connection (redis-py's ensure_connection)."""
    client = redis_client(redis_url, max_connections=1)
    pool = _pool(client)
    try:
        assert await client.ping()
        (idle,) = pool._available_connections
        await idle.disconnect()
        assert await client.ping()
        assert pool._available_connections == [idle]
    finally:
        await client.aclose()
