"""Take a conversation's lock directly, as a replica's gate would (``SET NX PX`` with a
fresh token), for tests of the lock itself and of what a dead holder leaves behind.

Production takes the lock only inside the gate's scripts (:mod:`core.sessions.scripts`),
together with the session and the queue; a test that wants the lock alone builds the
:class:`~core.sessions.lock.Lock` the same way the gate does once its script took it.
"""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from core.redis import ms
from core.sessions.keys import SessionKeys
from core.sessions.lock import Lock
from tests.waiting import eventually

__all__ = ["expiry_ms", "hold_lock", "outlive", "take_lock"]


async def take_lock(
    redis: aioredis.Redis, keys: SessionKeys, *, ttl: float, op_timeout: float | None = None
) -> Lock | None:
    """Try once; None when another owner holds it. ``op_timeout``: of its extends."""
    token = uuid.uuid4().hex
    # The expiry estimate starts before the request: Redis starts the TTL later, never earlier.
    started = asyncio.get_running_loop().time()
    if not await redis.set(keys.lock, token, nx=True, px=ms(ttl)):
        return None
    timeout = {} if op_timeout is None else {"op_timeout": op_timeout}
    return Lock(
        redis, keys.lock, stop_key=keys.stop, token=token, ttl=ttl, taken_at=started, **timeout
    )


async def hold_lock(
    redis: aioredis.Redis, keys: SessionKeys, *, ttl: float, op_timeout: float | None = None
) -> Lock:
    """Take it, failing the test where another owner holds it."""
    lock = await take_lock(redis, keys, ttl=ttl, op_timeout=op_timeout)
    assert lock is not None, f"{keys.lock} is held by another owner"
    return lock


async def expiry_ms(redis: aioredis.Redis, key: str) -> int:
    """When ``key`` expires on Redis's own clock (ms since the epoch), as Redis sees it now:
    ``TIME`` and ``PTTL`` in one transaction."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.time()
        pipe.pttl(key)
        (seconds, micros), remaining = await pipe.execute()
    assert remaining >= 0, f"{key} does not exist or never expires ({remaining})"
    return int(seconds) * 1000 + int(micros) // 1000 + int(remaining)


async def outlive(redis: aioredis.Redis, key: str, token: str, expiry: int) -> None:
    """Wait until Redis's clock is past ``expiry`` (ms), checking all along that the lock
    ``key`` is still held under ``token``.

    A lock's TTL runs on Redis's clock, which no test can fake: a test that a heartbeat
    keeps a lock beyond its TTL must let that clock pass the expiry. It waits on that clock
    (state), not on a sleep of the event loop, which a busy machine stretches or not."""

    async def past() -> bool:
        assert await redis.get(key) == token  # never expired, never taken over
        seconds, micros = await redis.time()
        return int(seconds) * 1000 + int(micros) // 1000 > expiry

    await eventually(past, what=f"redis's clock past the expiry of {key}")
