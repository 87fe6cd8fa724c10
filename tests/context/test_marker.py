"""The context marker in Redis: per conversation, bound to its session."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from core.context.marker import ContextMarker
from core.ops.metrics import REGISTRY
from tests.waiting import eventually


async def test_the_marker_follows_its_session(redis_client: aioredis.Redis, namespace: str) -> None:
    marker = ContextMarker(redis_client, namespace=namespace, ttl=60)
    assert await marker.last("slack:T:C:1", "s1") is None
    await marker.handed("slack:T:C:1", "s1", "C:1.5")
    assert await marker.last("slack:T:C:1", "s1") == "C:1.5"
    assert await marker.last("slack:T:C:1", "s2") is None  # a new session starts over
    assert await marker.last("slack:T:C:2", "s1") is None
    # A second process (replica) sees it: it lives in Redis, with the session's lifetime.
    other = ContextMarker(redis_client, namespace=namespace, ttl=60)
    assert await other.last("slack:T:C:1", "s1") == "C:1.5"
    assert 0 < await redis_client.pttl(marker.key("slack:T:C:1")) <= 60_000


async def test_the_marker_never_moves_back_within_its_session(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Turns answered out of posting order (a late Slack retry): the older message handed
    last leaves the marker on the newer one, which the agent was given already."""
    marker = ContextMarker(redis_client, namespace=namespace, ttl=60)
    await marker.handed("slack:T:C:1", "s1", "C:1712.000200")
    await marker.handed("slack:T:C:1", "s1", "C:1712.000100")
    assert await marker.last("slack:T:C:1", "s1") == "C:1712.000200"
    await marker.handed("slack:T:C:1", "s1", "C:1712.0003")
    assert await marker.last("slack:T:C:1", "s1") == "C:1712.0003"
    # Discord snowflakes, past a double's precision, and of different lengths.
    await marker.handed("discord:G:9", "s1", "1234567890123456790")
    await marker.handed("discord:G:9", "s1", "1234567890123456789")
    await marker.handed("discord:G:9", "s1", "999999999999999999")
    assert await marker.last("discord:G:9", "s1") == "1234567890123456790"
    # A new session starts over wherever the old one stood.
    await marker.handed("slack:T:C:1", "s2", "C:1712.000100")
    assert await marker.last("slack:T:C:1", "s2") == "C:1712.000100"


async def test_a_marker_read_waits_for_a_busy_pool(redis_url: str, namespace: str) -> None:
    """Issue 18.1: in a burst every pooled connection may be busy for a while (the pool's
    wait runs out: "No connection available."). That is queueing, not a Redis down: the
    read is asked again and answers once a connection is free, instead of failing the turn
    with a false "session store unavailable" notice."""
    pool = aioredis.BlockingConnectionPool.from_url(
        redis_url, max_connections=1, timeout=0.05, decode_responses=True
    )
    client = aioredis.Redis.from_pool(pool)
    try:
        marker = ContextMarker(client, namespace=namespace, ttl=60)
        await marker.handed("slack:T:C:1", "s1", "C:1.5")
        # A burst's other calls hold every connection.
        held = await pool.get_connection()  # type: ignore[no-untyped-call]
        before = metrics_value()
        reading = asyncio.ensure_future(marker.last("slack:T:C:1", "s1"))
        await eventually(  # two of the pool's waits ran out
            lambda: metrics_value() >= before + 2 or reading.done(), what="two pool waits"
        )
        assert not reading.done()  # still waiting (on main: failed with the store error)
        await pool.release(held)
        assert await reading == "C:1.5"
    finally:
        await client.aclose()


def metrics_value() -> float:
    return REGISTRY.get_sample_value("threadcast_redis_errors_total") or 0.0
