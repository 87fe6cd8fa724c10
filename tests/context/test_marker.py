"""The context marker in Redis: per conversation, bound to its session."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.context.marker import ContextMarker


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
