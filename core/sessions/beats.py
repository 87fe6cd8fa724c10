"""The heartbeats of every lock one process holds, sent together: one pipelined round trip
per beat instead of one script call per lock.

Each streaming reply's lock is extended (and its stop key read, the fallback for a Stop
from another replica) every ``ttl / 3``, or more often when asked. One call per reply per
beat cost ~12 % of the Discord bot's CPU with 200 replies streaming while the gate beat
every 0.5 s (tests/bench/README.md, "CPU per streamed reply"), and still one Redis call per reply
every 10 s at the default ttl (100 per second at 1,000 replies); pipelined, the client's per-call
work (a deadline, a pooled connection, an awaited round trip) is paid once per beat. Redis
still runs one ``EXTEND`` script per lock, each as atomic as before. A Redis Cluster client
keeps one call per lock (:class:`~core.sessions.lock.Lock` decides): its locks live in
different slots.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from core.errors import SessionStoreError
from core.redis import guarded, ms

if TYPE_CHECKING:
    from core.sessions.lock import Lock

__all__ = ["Heartbeats"]

log = logging.getLogger(__name__)

_Key = tuple[int, int, float]  # (event loop, redis client, interval)
_batches: dict[_Key, Heartbeats] = {}


class Heartbeats:
    """The locks of one Redis client beating at one interval; see the module docstring."""

    def __init__(self, redis: aioredis.Redis, every: float, key: _Key) -> None:
        self._redis = redis
        self._every = every
        self._key = key
        self._locks: dict[Lock, None] = {}  # an ordered set
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def join(cls, lock: Lock, every: float) -> Heartbeats:
        """Add ``lock`` to the beats of its client at ``every`` seconds."""
        key = (id(asyncio.get_running_loop()), id(lock.redis), every)
        batch = _batches.get(key)
        if batch is None:
            batch = _batches[key] = cls(lock.redis, every, key)
        batch._locks[lock] = None
        if batch._task is None:
            batch._task = asyncio.create_task(batch._run(), name=f"lock heartbeats {every:g}s")
        return batch

    def leave(self, lock: Lock) -> None:
        """``lock`` no longer beats; the last one to leave ends the batch."""
        self._locks.pop(lock, None)
        if not self._locks:
            if _batches.get(self._key) is self:
                del _batches[self._key]
            if self._task is not None:
                self._task.cancel()
                self._task = None

    async def _run(self) -> None:
        while self._locks:
            await asyncio.sleep(self._every)
            await self._beat(list(self._locks))

    async def _beat(self, locks: list[Lock]) -> None:
        from core.sessions.lock import EXTEND

        started = asyncio.get_running_loop().time()
        pipe = self._redis.pipeline(transaction=False)
        for lock in locks:
            pipe.evalsha(EXTEND.sha, 2, lock.key, lock.stop_key, lock.token, ms(lock.ttl))
        within = max(lock.op_timeout for lock in locks)
        try:
            results = await guarded("lock heartbeats", pipe.execute(raise_on_error=False),
                                    within=within)  # fmt: skip
        except SessionStoreError as exc:
            for lock in locks:
                if lock in self._locks:
                    lock.failed(exc)
            return
        for lock, result in zip(locks, results, strict=True):
            if lock not in self._locks:
                continue  # its turn ended meanwhile
            if isinstance(result, NoScriptError):  # the server lost its scripts: reload
                try:
                    await lock.extend()
                except SessionStoreError as exc:
                    lock.failed(exc)
                continue
            # A lock found lost stays in the beats while its turn runs: the gate may take
            # it again for the same token (core.sessions.gate, RETAKE).
            if isinstance(result, Exception):
                lock.failed(SessionStoreError(f"redis failed during lock extend: {result}"))
            else:
                lock.extended(int(result), started)
