from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.sessions.keys import SessionKeys
from core.sessions.lock import EXTEND, Lock
from tests.sessions.locks import expiry_ms, hold_lock, outlive, take_lock


@pytest.fixture
def keys(namespace: str) -> SessionKeys:
    """One conversation's keys, in the test's own namespace."""
    return SessionKeys("slack:T1:C1:1.1", namespace=namespace)


async def test_one_owner_at_a_time_and_only_the_owner_releases(
    redis_client: aioredis.Redis, keys: SessionKeys
) -> None:
    first = await hold_lock(redis_client, keys, ttl=5)
    assert await take_lock(redis_client, keys, ttl=5) is None
    impostor = Lock(redis_client, keys.lock, stop_key=keys.stop, token="not-mine", ttl=5)
    assert await impostor.release() is False
    assert await impostor.extend() is False and impostor.lost.is_set()
    assert await redis_client.get(keys.lock) == first.token
    assert await first.release() is True
    assert await redis_client.exists(keys.lock) == 0
    assert await first.release() is False


async def test_extend_after_expiry_reports_the_lock_lost(
    redis_client: aioredis.Redis, keys: SessionKeys
) -> None:
    lock = await hold_lock(redis_client, keys, ttl=0.1)
    async with asyncio.timeout(10):  # waits for the expiry itself, not for a duration
        while await redis_client.exists(keys.lock):  # noqa: ASYNC110 - Redis state
            await asyncio.sleep(0.005)
    successor = await hold_lock(redis_client, keys, ttl=5)
    assert await lock.extend() is False
    assert lock.lost.is_set()
    assert await lock.release() is False  # never the successor's lock
    assert await redis_client.get(keys.lock) == successor.token


async def test_heartbeat_holds_the_lock_beyond_its_ttl(
    redis_client: aioredis.Redis, keys: SessionKeys
) -> None:
    # The TTL runs on Redis's real clock: it must exceed any stall of this busy machine
    # (the default beat, ttl/3, leaves two thirds of it), or the lock is rightly lost.
    lock = await hold_lock(redis_client, keys, ttl=1.0)
    taken_until = await expiry_ms(redis_client, keys.lock)
    async with lock.heartbeat():
        await outlive(redis_client, keys.lock, lock.token, taken_until)
        assert await take_lock(redis_client, keys, ttl=1) is None
        assert await expiry_ms(redis_client, keys.lock) > taken_until  # pushed by the beats
    assert not lock.lost.is_set()
    assert await lock.release() is True


async def test_heartbeat_tells_the_owner_when_the_lock_is_lost(
    redis_client: aioredis.Redis, keys: SessionKeys
) -> None:
    lock = await hold_lock(redis_client, keys, ttl=0.3)
    async with lock.heartbeat():
        await redis_client.set(keys.lock, "someone-else")
        async with asyncio.timeout(5):
            await lock.lost.wait()
    assert await redis_client.get(keys.lock) == "someone-else"


async def test_heartbeat_sees_a_stop_request_for_its_token_only(
    redis_client: aioredis.Redis, keys: SessionKeys
) -> None:
    lock = await hold_lock(redis_client, keys, ttl=5)
    await redis_client.set(keys.stop, "an-older-token")
    assert await lock.extend() is True
    assert not lock.stop_requested.is_set()
    async with lock.heartbeat(interval=0.02):
        await redis_client.set(keys.stop, lock.token)
        async with asyncio.timeout(5):
            await lock.stop_requested.wait()
    assert not lock.lost.is_set()


async def test_locks_of_one_process_beat_together_each_hearing_its_own_news(
    redis_client: aioredis.Redis, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await redis_client.script_load(EXTEND.source)  # as after the first turn of a process
    pipelines, single = 0, 0
    pipeline, extend = redis_client.pipeline, Lock.extend

    def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal pipelines
        pipelines += 1
        return pipeline(*args, **kwargs)

    async def counted_extend(lock: Lock) -> bool:
        nonlocal single
        single += 1
        return await extend(lock)

    monkeypatch.setattr(redis_client, "pipeline", counted)
    monkeypatch.setattr(Lock, "extend", counted_extend)
    locks = []
    for k in range(30):
        keys = SessionKeys(f"c{k}", namespace=namespace)
        lock = await hold_lock(redis_client, keys, ttl=5)
        locks.append(lock)
    stopped, taken = locks[7], locks[13]
    async with contextlib.AsyncExitStack() as stack:
        for lock in locks:
            await stack.enter_async_context(lock.heartbeat(interval=0.05))
        await redis_client.set(stopped.stop_key, stopped.token)
        await redis_client.set(taken.key, "someone-else")
        async with asyncio.timeout(5):
            await stopped.stop_requested.wait()
            await taken.lost.wait()
    assert [lock for lock in locks if lock.stop_requested.is_set()] == [stopped]
    assert [lock for lock in locks if lock.lost.is_set()] == [taken]
    assert pipelines >= 1 and single == 0  # one round trip per beat for all thirty
    ttls = [await redis_client.pttl(lock.key) for lock in locks if lock is not taken]
    assert min(ttls) > 0
