from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.ops.metrics import REGISTRY
from core.sessions.keys import SessionKeys
from core.sessions.lock import EXTEND, Lock
from tests.bots.discord.slow_redis import SlowRedis
from tests.sessions.locks import expiry_ms, hold_lock, outlive, take_lock
from tests.waiting import PATIENCE


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


def _locks_lost() -> float:
    return REGISTRY.get_sample_value("threadcast_locks_lost_total") or 0.0


def _redis_errors() -> float:
    return REGISTRY.get_sample_value("threadcast_redis_errors_total") or 0.0


async def test_unanswered_extends_lose_the_lock_at_its_confirmed_expiry(
    redis_url: str, keys: SessionKeys, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis never answers the heartbeats (too busy for them): the owner does not wait for
    an extend to answer or fail before it knows. Once the expiry it last confirmed (the
    take, sent before Redis started the TTL) has passed, the lock is lost: logged once at
    WARNING and counted. An extend here could only fail after 60 s (the socket's timeout;
    the lock's op timeout is longer), far beyond the test's patience."""
    counted, errors = _locks_lost(), _redis_errors()
    async with SlowRedis(redis_url) as proxy:
        client: aioredis.Redis = aioredis.from_url(
            proxy.url, decode_responses=True, socket_timeout=60
        )
        try:
            lock = await hold_lock(client, keys, ttl=1.0, op_timeout=120)
            proxy.swallow(EXTEND.sha.encode(), every=True)
            async with lock.heartbeat():
                async with asyncio.timeout(PATIENCE):
                    await lock.lost.wait()
                assert _redis_errors() == errors  # no extend has failed (nor answered)
                assert proxy.swallowed, "no extend was sent"
                assert asyncio.get_running_loop().time() >= lock.expires_at
                assert not lock.held
        finally:
            await client.aclose()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "lost lock" in r.msg]
    assert len(warnings) == 1
    assert _locks_lost() == counted + 1


async def test_a_starved_loop_reads_the_expiry_from_the_clock(
    redis_client: aioredis.Redis, keys: SessionKeys
) -> None:
    """A loop too busy to run the expiry timer still answers that the lock is not held once
    its confirmed expiry has passed (here: taken a TTL ago, never extended); a confirmation
    taken in after that does not make it trusted again, though it still extends the lock in
    Redis (compare-and-set by token: it is still ours there), keeping the next turn out."""
    taken = await hold_lock(redis_client, keys, ttl=5)
    loop = asyncio.get_running_loop()
    lock = Lock(redis_client, keys.lock, stop_key=keys.stop, token=taken.token, ttl=5,
                taken_at=loop.time() - 5)  # fmt: skip
    assert not lock.lost.is_set()  # no timer has run
    assert not lock.held and lock.lost.is_set()
    assert await lock.extend() is True  # the token still holds the key: keep beating
    assert not lock.held
    assert await take_lock(redis_client, keys, ttl=5) is None
    assert await lock.release() is True  # compare-and-delete: it was still ours


@pytest.mark.looptime  # the default TTL's 30 s pass in fake time
async def test_the_loss_is_known_at_the_confirmed_expiry_to_the_instant(
    redis_url: str, keys: SessionKeys
) -> None:
    """With the default 30 s TTL and every extend unanswered, ``lost`` is set when the
    take's send time plus 30 s comes (a timer, not a failing call: those would end after
    120 s here), in fake time to the instant. The client has no socket timeouts: fake time
    must not run past a real round trip's deadline (it jumps to the next timer)."""
    async with SlowRedis(redis_url) as proxy:
        client: aioredis.Redis = aioredis.from_url(
            proxy.url, decode_responses=True, socket_timeout=None, socket_connect_timeout=None
        )
        try:
            lock = await hold_lock(client, keys, ttl=30, op_timeout=120)
            proxy.swallow(EXTEND.sha.encode(), every=True)
            expiry = lock.expires_at
            async with lock.heartbeat():
                async with asyncio.timeout(50):
                    await lock.lost.wait()
                assert asyncio.get_running_loop().time() == pytest.approx(expiry)
        finally:
            await client.aclose()
