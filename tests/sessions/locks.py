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

__all__ = ["hold_lock", "take_lock"]


async def take_lock(redis: aioredis.Redis, keys: SessionKeys, *, ttl: float) -> Lock | None:
    """Try once; None when another owner holds it."""
    token = uuid.uuid4().hex
    # The expiry estimate starts before the request: Redis starts the TTL later, never earlier.
    started = asyncio.get_running_loop().time()
    if not await redis.set(keys.lock, token, nx=True, px=ms(ttl)):
        return None
    return Lock(redis, keys.lock, stop_key=keys.stop, token=token, ttl=ttl, taken_at=started)


async def hold_lock(redis: aioredis.Redis, keys: SessionKeys, *, ttl: float) -> Lock:
    """Take it, failing the test where another owner holds it."""
    lock = await take_lock(redis, keys, ttl=ttl)
    assert lock is not None, f"{keys.lock} is held by another owner"
    return lock
