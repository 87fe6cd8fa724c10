"""A per-conversation lock: a value (key, token, expiry) owned by the turn that took it.

Ownership is by token: each :class:`Lock` has its own random token (no thread-local shared
by every asyncio task), and release and extend compare it before acting, so a turn whose
lock expired can never release or extend the next owner's lock.

While a reply streams, :meth:`Lock.heartbeat` extends the lock every ``ttl / 3`` (or more
often when asked to; the locks of one process beat together, see
:mod:`core.sessions.beats`), so a long reply keeps it; a crashed holder stops extending and the
lock expires after ``ttl``. The same heartbeat reads the lock's stop key, where anyone (an
interrupting message, a Stop button on another replica) can ask the current holder to stop:
``stop_requested`` is set when it names this token.

**When the owner stops trusting it.** The owner keeps, on the loop's monotonic clock, the
expiry it last *confirmed*: the time an extend was sent (not answered: Redis may have run
it at once) plus ``ttl``, a time by which Redis surely drops the key unless a later extend
landed. ``lost`` is set — logged at WARNING and counted in
``threadcast_locks_lost_total``, once per loss — as soon as either happens:

- an extend answers that the token no longer holds the key (expired, or taken over);
- that confirmed expiry passes without a confirmed extend: the extends time out, Redis is
  down, or the loop is too starved to send them. A timer fires at the expiry, and
  :attr:`Lock.held` reads the clock itself, so a starved loop whose timer has not run yet
  still answers no. Nobody waits for an extend to *fail* before knowing.

A late answer confirming an extend does not make a lost lock trusted again (the turn may
have acted on the loss already); only the gate does, for a turn that has not called its
agent yet (``RETAKE`` in :mod:`core.sessions.scripts`, :meth:`Lock.regained`): the lock is
taken again when that keeps the order — the token still holds it (only this turn ever
sets its token, so it never expired), or it is free and no later turn has started in the
session. The heartbeat keeps extending a lost lock while its turn runs: extending is
compare-and-set by token, so it only prolongs a lock that is in fact still ours, keeping
the next turn out while this one finishes.

**What holding it protects** (what a turn must not do once ``held`` is False):

- *the agent session's order*: turns of a conversation reach its agent one at a time, in
  arrival order (the gate's scripts hand the lock only to the first in line). The agent
  call is the point of no return: a turn that lost its lock before it, and cannot take it
  again, does not call the agent (the user is told to send the message again,
  :data:`core.texts.LOCK_LOST`); once the agent has the message, the reply is shown in
  full — cutting it short would not take the message back from the agent's session, only
  lose the answer;
- *the turn's bookkeeping in the session's metadata*: who asked the running turn (what the
  guarded Stop checks) and the agent pinned to the conversation (:mod:`core.routing.pins`),
  and the context marker (:mod:`core.context.marker`: the next turn's context starts after
  this message). Each is written before the agent call, only while the lock is held: a late
  write would name the wrong asker for the next turn, or move the marker back;
- *stops*: a Stop or an interrupting message reaches the lock's holder; a turn whose lock
  was taken over is no longer the one a Stop reaches;
- *release*: compare-and-delete by token (``RELEASE``), so it never frees a successor's
  lock; the gate's local wake-up of waiters is a hint (they ask Redis).

The reply's own messages and their recovery record, usage, quotas and feedback do not
depend on the lock: they are keyed by the message or the turn, not by the conversation's
order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from core import texts
from core.errors import SessionStoreError
from core.ops import metrics
from core.redis import DEFAULT_OP_TIMEOUT, LuaScript, ms
from core.sessions.beats import Heartbeats

__all__ = ["Lock", "LockLost"]

log = logging.getLogger(__name__)


class LockLost(SessionStoreError):
    """The turn's lock is no longer surely its own, before the agent was called."""

    notice = texts.LOCK_LOST


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
        """Loop time by which the lock surely expires unless extended: when the last
        confirmed extend (or the take) was sent, plus ``ttl``."""
        self.lost = asyncio.Event()
        """Set once the lock is no longer surely ours (see the module docstring); cleared
        only when the gate takes it again (:meth:`regained`)."""
        self.stop_requested = asyncio.Event()
        self._watch: asyncio.TimerHandle | None = None
        self._watching = False  # inside heartbeat(): the expiry timer may run
        self._released = False

    @property
    def held(self) -> bool:
        """Whether the lock is surely still ours, read from the clock now: a loop too
        starved to run the expiry timer still answers no once the expiry has passed."""
        if self.lost.is_set() or self._released:
            return False
        if asyncio.get_running_loop().time() >= self.expires_at:
            self._lose("its TTL ran out without a confirmed extend")
            return False
        return True

    async def extend(self) -> bool:
        """Push the expiry to ``ttl`` from now; False (and ``lost`` set) if no longer ours."""
        started = asyncio.get_running_loop().time()
        state = await EXTEND(
            self.redis, [self.key, self.stop_key], [self.token, ms(self.ttl)],
            within=self.op_timeout,
        )  # fmt: skip
        return self.extended(state, started)

    def extended(self, state: int, started: float) -> bool:
        """Take in an ``EXTEND`` answer for a call sent at ``started`` (loop time); False
        when the token no longer holds the key."""
        if not state:
            self._lose("expired or taken over")
            return False
        # Checked before the new expiry counts: a confirmation taken in after the old
        # expiry passed finds the lock given up already (the turn may have acted on that),
        # whether or not the timer has run yet; only the gate trusts it again (regained).
        if self.held:
            self.expires_at = max(self.expires_at, started + self.ttl)
        if state == 2:
            self.stop_requested.set()
        return True

    def regained(self, started: float) -> None:
        """The gate took the lock again for this token (``RETAKE``, sent at ``started``):
        trusted again for ``ttl`` from then."""
        self.expires_at = started + self.ttl
        if self.lost.is_set():
            self.lost.clear()
            log.warning("lock %s taken again: no later turn had started", self.key)
        self._arm()

    def failed(self, exc: SessionStoreError) -> None:
        """An extend got no answer: nothing is confirmed, so the expiry stands (``held``
        turns False when it passes; the timer says so meanwhile)."""
        if self.held:
            log.debug("lock %s not extended (expires in %.1fs): %s", self.key,
                      self.expires_at - asyncio.get_running_loop().time(), exc)  # fmt: skip

    async def release(self) -> bool:
        """Delete the lock if it is still ours; True when it was."""
        self._unwatch()
        self._released = True
        released = await RELEASE(self.redis, [self.key], [self.token], within=self.op_timeout)
        self.expires_at = min(self.expires_at, asyncio.get_running_loop().time())
        return bool(released)

    @contextlib.asynccontextmanager
    async def heartbeat(self, interval: float | None = None) -> AsyncIterator[None]:
        """Keep the lock extended while the body runs (every ``interval``, default ttl/3),
        and watch its expiry (``lost`` is set when it passes unconfirmed)."""
        # ttl/3 leaves room for two missed beats (a slow Redis, a busy loop) before expiry.
        every = min(self.ttl / 3, interval) if interval else self.ttl / 3
        self._watching = True
        self._arm()
        try:
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
        finally:
            self._watching = False
            self._unwatch()

    async def _beat(self, every: float, done: asyncio.Event) -> None:
        while not done.is_set():
            await asyncio.sleep(every)
            if done.is_set():
                return
            try:
                await self.extend()  # even lost: the gate may take it again (RETAKE)
            except SessionStoreError as exc:
                self.failed(exc)  # keep trying: a later extend may still land

    def _lose(self, why: str) -> None:
        """Set ``lost``, logged and counted once."""
        if self.lost.is_set():
            return
        self.lost.set()
        self._unwatch()
        metrics.lock_lost()
        log.warning("lost lock %s: %s", self.key, why)

    def _arm(self) -> None:
        """One timer at the confirmed expiry (moved on only when it fires: extends cost
        no timer work)."""
        if self._watching and self._watch is None and not self.lost.is_set():
            loop = asyncio.get_running_loop()
            self._watch = loop.call_at(self.expires_at, self._expiry_due)

    def _expiry_due(self) -> None:
        self._watch = None
        if self.held:  # extended meanwhile: watch the new expiry
            self._arm()

    def _unwatch(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None

    def __repr__(self) -> str:
        state = "lost" if self.lost.is_set() else f"expires_at={self.expires_at:.2f}"
        return f"<Lock {self.key} token={self.token[:8]} {state}>"
