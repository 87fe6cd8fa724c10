"""The registry's Redis scripts, and :class:`ReplyRegistry`, the only code that runs them.

Keys of one recovery scope (a platform and the bot's identity there, so two bots on one
Redis never touch each other's replies), under one hash tag so each script touches one
Cluster slot::

    <ns>:{recovery:<platform>:<bot>}:replies  HASH  reply id -> record JSON (record.py)
    <ns>:{recovery:<platform>:<bot>}:holders  HASH  reply id -> owner, while its owner has it
    <ns>:{recovery:<platform>:<bot>}:owners   ZSET  owner -> liveness deadline (Redis ms)
    <ns>:{recovery:<platform>:<bot>}:due      ZSET  reply id -> when a reaper may take it
    <ns>:{recovery:<platform>:<bot>}:tries    HASH  reply id -> times a reaper took it
    <ns>:{recovery:<platform>:<bot>}:ended    ZSET  reply id -> when its record was dropped

An owner proves it is alive with one beat per process (``owners``), not one per reply, so
a turn that waits in a queue for minutes costs two writes (registered, dropped) and no
more. A record whose owner's deadline passed, or that its owner handed over, is *due*;
a reaper takes it for a lease (``due`` moves to the lease's end, so a reaper that dies
mid-way is replaced) and renews the lease while it works, and on failure puts it back for
later. A stray copy (``ReplyRecord.stray``: a post a surface retried blind) is left
straight to the reapers, owned by no one and due after a short delay. Deadlines are Redis's
clock (``TIME``), so replicas with skewed clocks agree.

A reply is finished once: a dropped record leaves its id in ``ended`` (for
:data:`ENDED_FOR`), and neither a hand-over nor a first write registers that id again. An
owner presumed dead while it was only slow used to hand its reply over after a reaper had
finished it as an orphan (notice and all): the hand-over, finding no record, registered it
anew and a reaper finished it a second time; a first write that landed late did the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import redis.asyncio as aioredis

from core.config import DEFAULT_NAMESPACE
from core.ops.recovery.record import ReplyRecord
from core.redis import NOW_MS, LuaScript, ms, text
from core.surface import StrayCopy

__all__ = [
    "BEAT",
    "CLAIM",
    "DROP",
    "ENDED_FOR",
    "HANDOVER",
    "LEAVE",
    "RETRY",
    "WRITE",
    "Claimed",
    "RecoveryKeys",
    "ReplyRegistry",
    "replica_id",
]

log = logging.getLogger(__name__)

ENDED_FOR = 24 * 3600.0
"""How long a dropped reply's id is remembered (a day: longer than any owner, presumed dead
while it was only slow, can take to hand over or write again)."""

# An owner is alive. KEYS[1]: owners. ARGV[1]: owner; ARGV[2]: ttl ms.
# Returns 1, or 0 when the owner had been presumed dead (its replies were reaped).
BEAT = LuaScript(
    "recovery-beat",
    NOW_MS
    + """
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[1], now_ms() + tonumber(ARGV[2]), ARGV[1])
if known then return 1 end
return 0
""",
)

# Write a reply's record. KEYS: replies, holders, owners, ended.
# ARGV[1]: reply id; ARGV[2]: record JSON; ARGV[3]: owner; ARGV[4]: ttl ms; ARGV[5]: "1" the
# first time (registers the reply and refreshes the owner's deadline).
# Returns 1, or 0 when the reply is no longer this owner's (a reaper took it, or it ended:
# a first write that lands late never registers a reply again).
WRITE = LuaScript(
    "recovery-write",
    NOW_MS
    + """
if ARGV[5] == '1' then
  if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
  local holder = redis.call('HGET', KEYS[2], ARGV[1])
  if holder ~= ARGV[3] and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
  redis.call('ZADD', KEYS[3], now_ms() + tonumber(ARGV[4]), ARGV[3])
elseif redis.call('HGET', KEYS[2], ARGV[1]) ~= ARGV[3] then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
""",
)

# The owner gives a reply to the reapers (final edits it could not make). KEYS: replies,
# holders, due, ended. ARGV[1]: reply id; ARGV[2]: record JSON; ARGV[3]: owner.
# Returns 1, or 0 when the reply is no longer this owner's (a reaper holds it: no holder,
# but a record; or it ended: a reaper finished it). A reply with none of these was never
# registered (every write lost to a timeout in a burst): it is handed over all the same, or
# no reaper would ever know it.
HANDOVER = LuaScript(
    "recovery-handover",
    NOW_MS
    + """
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return 0 end
local holder = redis.call('HGET', KEYS[2], ARGV[1])
if holder ~= ARGV[3] then
  if holder or redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], now_ms(), ARGV[1])
return 1
""",
)

# Leave a record to the reapers, owned by no one (a stray copy). KEYS: replies, due.
# ARGV[1]: record id; ARGV[2]: record JSON; ARGV[3]: due in this many ms.
LEAVE = LuaScript(
    "recovery-leave",
    NOW_MS
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now_ms() + tonumber(ARGV[3]), ARGV[1])
return 1
""",
)

# Take due replies for a lease. KEYS: replies, holders, owners, due, tries.
# ARGV[1]: at most this many; ARGV[2]: lease ms.
# First the replies of owners past their deadline become due (and those owners are
# forgotten). Returns a flat list: id, record, tries, id, record, tries, ...
CLAIM = LuaScript(
    "recovery-claim",
    NOW_MS
    + """
local now = now_ms()
local dead = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
if #dead > 0 then
  local gone = {}
  for _, owner in ipairs(dead) do gone[owner] = true end
  local held = redis.call('HGETALL', KEYS[2])
  for i = 1, #held, 2 do
    if gone[held[i + 1]] then
      redis.call('HDEL', KEYS[2], held[i])
      redis.call('ZADD', KEYS[4], now, held[i])
    end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
end
local out = {}
local ids = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, id in ipairs(ids) do
  local record = redis.call('HGET', KEYS[1], id)
  if record then
    redis.call('ZADD', KEYS[4], now + tonumber(ARGV[2]), id)
    table.insert(out, id)
    table.insert(out, record)
    table.insert(out, redis.call('HINCRBY', KEYS[5], id, 1))
  else
    redis.call('ZREM', KEYS[4], id)
    redis.call('HDEL', KEYS[5], id)
  end
end
return out
""",
)

# A reaper failed: try again later. KEYS[1]: due. ARGV[1]: reply id; ARGV[2]: delay ms.
RETRY = LuaScript(
    "recovery-retry",
    NOW_MS
    + """
redis.call('ZADD', KEYS[1], 'XX', now_ms() + tonumber(ARGV[2]), ARGV[1])
return 1
""",
)

# Forget a reply, and remember it ended (see the module). KEYS: replies, holders, due,
# tries, ended. ARGV[1]: reply id; ARGV[2]: how long it is remembered, ms.
DROP = LuaScript(
    "recovery-drop",
    NOW_MS
    + """
local now = now_ms()
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - tonumber(ARGV[2]))
redis.call('ZADD', KEYS[5], now, ARGV[1])
return 1
""",
)


def replica_id() -> str:
    """This process, unique even when a pod restarts with the same hostname and pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class RecoveryKeys:
    """The keys of one recovery scope (see the module docstring)."""

    replies: str
    holders: str
    owners: str
    due: str
    tries: str
    ended: str

    @classmethod
    def of(cls, namespace: str, platform: str, bot: str) -> RecoveryKeys:
        if not namespace or any(c in namespace for c in "{}"):
            raise ValueError(f"invalid namespace: {namespace!r}")
        if not platform or any(c in platform for c in "{}:"):
            raise ValueError(f"bad platform name: {platform!r}")
        if not bot:
            raise ValueError("a recovery scope needs the bot's identity")
        head = f"{namespace}:{{recovery:{platform}:{quote(bot, safe='')}}}"
        return cls(f"{head}:replies", f"{head}:holders", f"{head}:owners", f"{head}:due",
                   f"{head}:tries", f"{head}:ended")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Claimed:
    """A reply a reaper took: its record, and how many times it was taken."""

    reply_id: str
    record: ReplyRecord
    tries: int


class ReplyRegistry:
    """The replies of the platforms this process serves, in Redis (see the module docstring).

    :meth:`serve` names the bot a platform's replies belong to; replies on other platforms
    (the console) are not registered: no reaper could finish them.
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        owner: str | None = None,
        ttl: float = 15.0,
        op_timeout: float = 2.0,
        ahead_timeout: float = 0.5,
        patience: float = 30.0,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.owner = owner or replica_id()
        self.ttl = ttl
        self.op_timeout = op_timeout
        # A write ahead of an edit waits this long at most: a slow Redis must not hold the
        # reply back (the record is then a moment behind, as before write-ahead).
        self.ahead_timeout = min(ahead_timeout, op_timeout)
        # A reply's first visible message waits this long at most for its record while
        # Redis answers late (heartbeat.RegisteredReply.registered).
        self.patience = patience
        self.scopes: dict[str, RecoveryKeys] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def serve(self, platform: str, bot: str) -> RecoveryKeys:
        """Register ``platform``'s replies under the bot ``bot`` (its app or user id)."""
        keys = RecoveryKeys.of(self.namespace, platform, bot)
        self.scopes[platform] = keys
        return keys

    def keys(self, platform: str) -> RecoveryKeys | None:
        return self.scopes.get(platform)

    # --- the owner's side --------------------------------------------------------------

    async def beat(self, keys: RecoveryKeys) -> bool:
        """This owner is alive; False if it had been presumed dead."""
        return bool(await BEAT(self.redis, [keys.owners], (self.owner, ms(self.ttl)),
                               within=self.op_timeout))  # fmt: skip

    async def write(
        self, keys: RecoveryKeys, reply_id: str, record: ReplyRecord, *, first: bool,
        within: float | None = None,
    ) -> bool:  # fmt: skip
        """Write the record; False when a reaper took the reply meanwhile, or it ended."""
        args = (reply_id, record.to_json(), self.owner, ms(self.ttl), "1" if first else "0")
        keyset = [keys.replies, keys.holders, keys.owners, keys.ended]
        done = await WRITE(self.redis, keyset, args, within=within or self.op_timeout)
        return bool(done)

    async def hand_over(self, keys: RecoveryKeys, reply_id: str, record: ReplyRecord) -> bool:
        """Leave the reply to the reapers (its final edits failed)."""
        args = (reply_id, record.to_json(), self.owner)
        keyset = [keys.replies, keys.holders, keys.due, keys.ended]
        done = await HANDOVER(self.redis, keyset, args, within=self.op_timeout)
        return bool(done)

    async def leave(self, keys: RecoveryKeys, stray: StrayCopy, *, delay: float) -> str:
        """Leave ``stray`` to the reapers (this one included), due in ``delay`` seconds;
        returns its record's id (the post's key's: leaving it again replaces it)."""
        record_id = f"stray-{stray.key or secrets.token_hex(8)}"
        record = ReplyRecord.of_stray(self.owner, stray)
        await LEAVE(self.redis, [keys.replies, keys.due], (record_id, record.to_json(),
                    ms(delay)), within=self.op_timeout)  # fmt: skip
        return record_id

    # --- the reaper's side -------------------------------------------------------------

    async def claim(self, keys: RecoveryKeys, *, limit: int, lease: float) -> list[Claimed]:
        """Take up to ``limit`` due replies for ``lease`` seconds."""
        raw = await CLAIM(
            self.redis, [keys.replies, keys.holders, keys.owners, keys.due, keys.tries],
            (limit, ms(lease)), within=self.op_timeout,
        )  # fmt: skip
        found: list[Claimed] = []
        for i in range(0, len(raw), 3):
            reply_id = text(raw[i])
            try:
                record = ReplyRecord.parse(text(raw[i + 1]))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("unreadable recovery record %s dropped: %r", reply_id, exc)
                await self.drop(keys, reply_id)
                continue
            found.append(Claimed(reply_id, record, int(raw[i + 2])))
        return found

    async def retry_later(self, keys: RecoveryKeys, reply_id: str, delay: float) -> None:
        await RETRY(self.redis, [keys.due], (reply_id, ms(delay)), within=self.op_timeout)

    async def keep(self, keys: RecoveryKeys, reply_id: str, lease: float) -> None:
        """Renew the lease of a reply this reaper is still finishing (a no-op once dropped)."""
        await RETRY(self.redis, [keys.due], (reply_id, ms(lease)), within=self.op_timeout)

    async def drop(self, keys: RecoveryKeys, reply_id: str) -> None:
        keyset = [keys.replies, keys.holders, keys.due, keys.tries, keys.ended]
        await DROP(self.redis, keyset, (reply_id, ms(ENDED_FOR)), within=self.op_timeout)

    # --- background work ---------------------------------------------------------------

    def retry_delay(self, failures: int) -> float:
        """Seconds before a write that failed ``failures`` times in a row is tried again:
        doubling from 0.2 s, never past a third of the record's TTL (a beat of the owner)."""
        return min(self.ttl / 3, 0.2 * 2.0 ** (failures - 1))

    def spawn(self, work: Callable[[], Coroutine[Any, Any, Any]], name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work(), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def aclose(self) -> None:
        """Give pending writes one op timeout to land, then stop them."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.op_timeout)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
