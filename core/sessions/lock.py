"""A per-conversation lock: a value (key, token, expiry) owned by the turn that took it.

Ownership is by token: each :class:`Lock` has its own random token (no thread-local shared
by every asyncio task), and release and extend compare it before acting, so a turn whose
lock expired can never release or extend the next owner's lock.

While a reply streams, :meth:`Lock.heartbeat` extends the lock every ``ttl / 3`` (or more
often when asked to; the locks of one process beat together, see
:mod:`core.sessions.beats`), so a long reply keeps it; a crashed holder stops extending and the
lock expires after ``ttl``. If an extend finds the lock gone, ``lost`` is set: the owner
is told instead of silently running on without it. The same heartbeat reads the lock's
stop key, where anyone (an interrupting message, a Stop button on another replica) can
ask the current holder to stop: ``stop_requested`` is set when it names this token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from core.errors import SessionStoreError
from core.redis import DEFAULT_OP_TIMEOUT, LuaScript, ms
from core.sessions.beats import Heartbeats

__all__ = ["Lock"]

log = logging.getLogger(__name__)

# Compare-and-delete. KEYS[1]: lock key. ARGV[1]: the owner's token.
# Returns 1 when the lock was ours and is now deleted, 0 when someone else (or nobody) holds it.
RELEASE = LuaScript(
    "lock release",
    """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
""",
)

# Compare-and-pexpire, plus the stop check. KEYS[1]: lock key; KEYS[2]: its stop key.
# ARGV[1]: the owner's token; ARGV[2]: new TTL in ms.
# Returns 0 when the token no longer holds the lock (lost), 1 when extended,
# 2 when extended and a stop was requested for this token.
EXTEND = LuaScript(
    "lock extend",
    """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  return 2
end
return 1
""",
)


class Lock:
    """A lock held by one owner, built by the gate once its script took it."""

    def __init__(
        self,
        redis: aioredis.Redis,
        key: str,
        *,
        stop_key: str,
        token: str,
        ttl: float,
        taken_at: float | None = None,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> None:
        self.redis = redis
        self.key = key
        self.stop_key = stop_key
        self.token = token
        self.ttl = ttl
        self.op_timeout = op_timeout
        now = asyncio.get_running_loop().time() if taken_at is None else taken_at
        self.expires_at = now + ttl
        """Loop time by which the lock surely expires unless extended (a local estimate)."""
        self.lost = asyncio.Event()
        self.stop_requested = asyncio.Event()

    async def extend(self) -> bool:
        """Push the expiry to ``ttl`` from now; False (and ``lost`` set) if no longer ours."""
        started = asyncio.get_running_loop().time()
        state = await EXTEND(
            self.redis, [self.key, self.stop_key], [self.token, ms(self.ttl)],
            within=self.op_timeout,
        )  # fmt: skip
        return self.extended(state, started)

    def extended(self, state: int, started: float) -> bool:
        """Take in an ``EXTEND`` answer for a call sent at ``started`` (loop time)."""
        if not state:
            self.lost.set()
            return False
        self.expires_at = started + self.ttl
        if state == 2:
            self.stop_requested.set()
        return True

    async def release(self) -> bool:
        """Delete the lock if it is still ours; True when it was."""
        released = await RELEASE(self.redis, [self.key], [self.token], within=self.op_timeout)
        self.expires_at = asyncio.get_running_loop().time()
        return bool(released)

    @contextlib.asynccontextmanager
    async def heartbeat(self, interval: float | None = None) -> AsyncIterator[None]:
        """Keep the lock extended while the body runs (every ``interval``, default ttl/3)."""
        # ttl/3 leaves room for two missed beats (a slow Redis, a busy loop) before expiry.
        every = min(self.ttl / 3, interval) if interval else self.ttl / 3
        if not isinstance(self.redis, RedisCluster):  # one call for all locks (beats.py)
            batch = Heartbeats.join(self, every)
            try:
                yield
            finally:
                batch.leave(self)
            return
        done = asyncio.Event()
        task = asyncio.create_task(self._beat(every, done), name=f"heartbeat {self.key}")
        try:
            yield
        finally:
            # The flag ends the loop even if a cancel is lost inside the Redis client.
            done.set()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _beat(self, every: float, done: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not done.is_set():
            await asyncio.sleep(every)
            if done.is_set():
                return
            try:
                if not await self.extend():
                    log.warning("lost lock %s (expired or taken over)", self.key)
                    return
            except SessionStoreError as exc:
                # Redis hiccup: keep trying while the lock may still be ours; once its expiry
                # has passed, another turn may hold it, so tell the owner.
                if loop.time() >= self.expires_at:
                    log.warning("lock %s expired while redis failed: %s", self.key, exc)
                    self.lost.set()
                    return

    def __repr__(self) -> str:
        state = "lost" if self.lost.is_set() else f"expires_at={self.expires_at:.2f}"
        return f"<Lock {self.key} token={self.token[:8]} {state}>"
