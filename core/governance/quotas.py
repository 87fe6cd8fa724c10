"""Quotas in Redis, shared by every replica: turns per user and per channel in any rolling
hour, and replies streaming at once per user.

Each counter is a sorted set: a turn is a member scored by when it started (Redis time, so
replicas with skewed clocks agree); members older than the window are dropped before
counting, so the hour rolls continuously. Concurrent replies are members scored by when
they expire (the turn timeout and a margin): a replica that dies mid-reply frees its slot
by itself. One script checks every limit and takes them all or none, atomically.

A turn over a limit is refused before the agent is called; the refusal says when a slot
frees (the oldest counted turn leaving the window). Admins are exempt: the responder does
not ask. A limit of 0 is unlimited and costs nothing (no counter is kept).
"""

from __future__ import annotations

import uuid
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

# Check every quota of one turn and take them all, or none.
# KEYS: 1 the user's turns, 2 the channel's turns, 3 the user's replies (all zsets).
# ARGV: 1 turn id, 2 user turns limit, 3 channel turns limit, 4 concurrent replies limit
#       (0: unlimited), 5 window ms, 6 reply slot TTL ms, 7 reply slot token.
# Returns {1} taken, or {0, kind (1, 2, 3 as KEYS), ms until a slot frees (0: unknown)}.
TAKE = LuaScript(
    "quota take",
    NOW_MS
    + """
local now = now_ms()
local window = tonumber(ARGV[5])
local limits = {tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])}
for i = 1, 2 do
  if limits[i] > 0 then
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - window)
    if redis.call('ZCARD', KEYS[i]) >= limits[i] then
      local oldest = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
      return {0, i, math.max(0, tonumber(oldest[2]) + window - now)}
    end
  end
end
if limits[3] > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  if redis.call('ZCARD', KEYS[3]) >= limits[3] then return {0, 3, 0} end
  redis.call('ZADD', KEYS[3], now + tonumber(ARGV[6]), ARGV[7])
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
for i = 1, 2 do
  if limits[i] > 0 then
    redis.call('ZADD', KEYS[i], 'NX', now, ARGV[1])
    redis.call('PEXPIRE', KEYS[i], window)
  end
end
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
        """Count ``turn`` against ``limits``. Raises SessionStoreError when Redis fails."""
        channel_limit = 0 if turn.is_dm else limits.channel_turns_per_hour
        wanted = (limits.user_turns_per_hour, channel_limit, limits.user_concurrent_replies)
        if not any(wanted):
            return QuotaGrant()
        platform, ns = turn.where.platform, self.namespace
        keys = [
            quota_key(ns, "user-turns", platform, turn.user),
            quota_key(ns, "channel-turns", platform, turn.where.workspace, turn.channel),
            quota_key(ns, "user-replies", platform, turn.user),
        ]
        token = uuid.uuid4().hex
        turn_id = f"{platform}:{turn.message_id}"
        reply = await TAKE(
            self.redis, keys,
            [turn_id, *wanted, ms(self.window), ms(self.slot_ttl), token],
            within=self.op_timeout,
        )  # fmt: skip
        if int(reply[0]) == 1:
            return QuotaGrant((keys[2], token) if wanted[2] else None)
        index = int(reply[1]) - 1
        return QuotaRefusal(_KINDS[index], wanted[index], int(reply[2]) / 1000)

    async def release(self, grant: QuotaGrant) -> None:
        """Give back the reply slot (a failure is harmless: the slot expires)."""
        if grant.slot is not None:
            key, token = grant.slot
            await guarded("quota release", self.redis.zrem(key, token), within=self.op_timeout)
