"""Quotas in Redis, shared by every replica: turns per user and per channel in any rolling
hour, and replies streaming at once per user.

Each counter is a sorted set: a turn is a member scored by when it started (Redis time, so
replicas with skewed clocks agree); members older than the window are dropped before
counting, so the hour rolls continuously. Concurrent replies are members scored by when
they expire (the turn timeout and a margin): a replica that dies mid-reply frees its slot
by itself. One script checks every limit and takes them all or none, atomically, and
records the turn as granted: asked again for the same turn (its first answer came too late
to be read), it grants it again without counting it twice. A refusal is recorded the same
way, for the window: the same turn asked again (a Slack retry of the event, a late answer
tried again) is refused again even once a slot has freed, so a user told "quota exceeded"
never gets a reply to that message after all.

A turn over a limit is refused before the agent is called; the refusal says when a slot
frees (the oldest counted turn leaving the window). Admins are exempt: the responder does
not ask. A limit of 0 is unlimited and costs nothing (no counter is kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

from core import texts
from core.deployment.schema import QuotaSpec
from core.governance.keys import quota_key
from core.redis import DEFAULT_OP_TIMEOUT, NOW_MS, LuaScript, guarded, ms
from core.turn import Turn

__all__ = ["TAKE", "WINDOW", "QuotaBook", "QuotaGrant", "QuotaRefusal"]

WINDOW = 3600.0
"""Seconds of the rolling window of the turn quotas."""

QuotaKind = Literal["user_turns", "channel_turns", "concurrent"]
_KINDS: tuple[QuotaKind, ...] = ("user_turns", "channel_turns", "concurrent")

# Check every quota of one turn and take them all, or none; safe to repeat for one turn.
# KEYS: 1 the user's turns, 2 the channel's turns, 3 the user's replies, 4 the user's
#       granted turns (all zsets; 4 scores each turn id granted by when, kept a window),
#       5 the user's refused turns (zset: turn id -> when refused, kept a window), 6 their
#       verdicts (hash: turn id -> "kind:when a slot frees, ms (0: unknown)").
# ARGV: 1 turn id, 2 user turns limit, 3 channel turns limit, 4 concurrent replies limit
#       (0: unlimited), 5 window ms, 6 reply slot TTL ms.
# Returns {1} taken (now, or by an earlier run for this turn id: nothing counted again),
# or {0, kind (1, 2, 3 as KEYS), ms until a slot frees (0: unknown)} (now, or the verdict
# of an earlier run for this turn id).
TAKE = LuaScript(
    "quota take",
    NOW_MS
    + """
local now = now_ms()
local window = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
if redis.call('ZSCORE', KEYS[4], ARGV[1]) then return {1} end
local stale = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', now - window)
for _, id in ipairs(stale) do redis.call('HDEL', KEYS[6], id) end
if #stale > 0 then redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now - window) end
local verdict = redis.call('HGET', KEYS[6], ARGV[1])
if verdict then
  local sep = string.find(verdict, ':', 1, true)
  local frees = tonumber(string.sub(verdict, sep + 1))
  local wait = 0
  if frees > 0 then wait = math.max(0, frees - now) end
  return {0, tonumber(string.sub(verdict, 1, sep - 1)), wait}
end
local function refuse(kind, wait)
  local frees = 0
  if wait > 0 then frees = now + wait end
  redis.call('ZADD', KEYS[5], now, ARGV[1])
  redis.call('HSET', KEYS[6], ARGV[1], kind .. ':' .. frees)
  redis.call('PEXPIRE', KEYS[5], window)
  redis.call('PEXPIRE', KEYS[6], window)
  return {0, kind, wait}
end
local limits = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
for i = 1, 2 do
  if limits[i] > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    if redis.call('ZCARD', KEYS[i]) >= limits[i] then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      return refuse(i, math.max(0, tonumber(oldest[2]) + window - now))
    end
  end
end
if limits[3] > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= limits[3] then return refuse(3, 0) end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[1])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
for i = 1, 2 do
  if limits[i] > 0 then
    redis.call('ZADD', KEYS[i], 'NX', now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
redis.call('ZADD', KEYS[4], now, ARGV[1])
redis.call('PEXPIRE', KEYS[4], window)
return {1}
""",
)


@dataclass(frozen=True, slots=True)
class QuotaGrant:
    """The turn may run; ``slot`` is the reply slot to give back (None: not counted)."""

    slot: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class QuotaRefusal:
    """The turn is over a quota: ``limit`` reached; a slot frees in ``retry_after`` s."""

    kind: QuotaKind
    limit: int
    retry_after: float

    @property
    def notice(self) -> str:
        if self.kind == "concurrent":
            return texts.OVER_CONCURRENT.format(limit=self.limit)
        template = texts.OVER_USER_TURNS if self.kind == "user_turns" else texts.OVER_CHANNEL_TURNS
        return template.format(limit=self.limit, retry=texts.retry_in(self.retry_after))


class QuotaBook:
    """The quota counters of one deployment (see the module docstring)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        slot_ttl: float,
        window: float = WINDOW,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.slot_ttl = slot_ttl
        self.window = window
        self.op_timeout = op_timeout

    async def take(self, turn: Turn, limits: QuotaSpec) -> QuotaGrant | QuotaRefusal:
        """Count ``turn`` against ``limits``. Raises SessionStoreError when Redis fails.

        Safe to repeat for one turn (a late answer may mean the first try counted it): a
        turn already granted is granted again, its reply slot the same, nothing counted
        twice — so a caller may ask again while Redis only answers late; a turn already
        refused is refused again, for the same quota, for the window."""
        channel_limit = 0 if turn.is_dm else limits.channel_turns_per_hour
        wanted = (limits.user_turns_per_hour, channel_limit, limits.user_concurrent_replies)
        if not any(wanted):
            return QuotaGrant()
        platform, ns = turn.where.platform, self.namespace
        keys = [
            quota_key(ns, "user-turns", platform, turn.user),
            quota_key(ns, "channel-turns", platform, turn.where.workspace, turn.channel),
            quota_key(ns, "user-replies", platform, turn.user),
            quota_key(ns, "user-granted", platform, turn.user),
            quota_key(ns, "user-refused", platform, turn.user),
            quota_key(ns, "user-verdicts", platform, turn.user),
        ]
        # The turn's own id is its reply slot too: a repeat finds (and gives back) the same.
        turn_id = f"{platform}:{turn.message_id}"
        reply = await TAKE(
            self.redis, keys, [turn_id, *wanted, ms(self.window), ms(self.slot_ttl)],
            within=self.op_timeout,
        )  # fmt: skip
        if int(reply[0]) == 1:
            return QuotaGrant((keys[2], turn_id) if wanted[2] else None)
        index = int(reply[1]) - 1
        return QuotaRefusal(_KINDS[index], wanted[index], int(reply[2]) / 1000)

    async def release(self, grant: QuotaGrant) -> None:
        """Give back the reply slot (a failure is harmless: the slot expires)."""
        if grant.slot is not None:
            key, token = grant.slot
            await guarded("quota release", self.redis.zrem(key, token), within=self.op_timeout)
