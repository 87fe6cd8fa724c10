from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from core.sessions.keys import SessionKeys
from core.sessions.lock import Lock


def _keys(namespace: str) -> SessionKeys:
    return SessionKeys("slack:T1:C1:1.1", namespace=namespace)


async def test_one_owner_at_a_time_and_only_the_owner_releases(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    keys = _keys(namespace)
    first = await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=5)
    assert first is not None
    assert await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=5) is None
    impostor = Lock(redis_client, keys.lock, stop_key=keys.stop, token="not-mine", ttl=5)
    assert await impostor.release() is False
    assert await impostor.extend() is False and impostor.lost.is_set()
    assert await redis_client.get(keys.lock) == first.token
    assert await first.release() is True
    assert await redis_client.exists(keys.lock) == 0
    assert await first.release() is False


async def test_extend_after_expiry_reports_the_lock_lost(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    keys = _keys(namespace)
    lock = await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=0.1)
    assert lock is not None
    await asyncio.sleep(0.2)
    successor = await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=5)
    assert successor is not None
    assert await lock.extend() is False
    assert lock.lost.is_set()
    assert await lock.release() is False  # never the successor's lock
    assert await redis_client.get(keys.lock) == successor.token


async def test_heartbeat_holds_the_lock_beyond_its_ttl(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    keys = _keys(namespace)
    lock = await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=0.2)
    assert lock is not None
    async with lock.heartbeat():
        for _ in range(8):  # 0.8 s: four TTLs
            await asyncio.sleep(0.1)
            assert await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=1) is None
        assert await redis_client.get(keys.lock) == lock.token
    assert not lock.lost.is_set()
    assert await lock.release() is True


async def test_heartbeat_tells_the_owner_when_the_lock_is_lost(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    keys = _keys(namespace)
    lock = await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=0.3)
    assert lock is not None
    async with lock.heartbeat():
        await redis_client.set(keys.lock, "someone-else")
        async with asyncio.timeout(5):
            await lock.lost.wait()
    assert await redis_client.get(keys.lock) == "someone-else"


async def test_heartbeat_sees_a_stop_request_for_its_token_only(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    keys = _keys(namespace)
    lock = await Lock.acquire(redis_client, keys.lock, stop_key=keys.stop, ttl=5)
    assert lock is not None
    await redis_client.set(keys.stop, "an-older-token")
    assert await lock.extend() is True
    assert not lock.stop_requested.is_set()
    async with lock.heartbeat(interval=0.02):
        await redis_client.set(keys.stop, lock.token)
        async with asyncio.timeout(5):
            await lock.stop_requested.wait()
    assert not lock.lost.is_set()
