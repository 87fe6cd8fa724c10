"""Edit budgets kept in Redis, so replicas sharing one bot token share one budget.

Slack counts ``chat.update`` per workspace and Discord counts 50 req/s per bot *across all
processes*: two replicas each pacing themselves to the full budget would together send
twice it. With a store configured, the scheduler still decides locally *who* goes next
(fairness, urgency); this store only answers "is a token free right now, across every
replica?" — atomically, with one Lua script per grant — and records 429 pauses so every
replica pauses. A replica refused a token reserves the next slot, so replicas take turns
instead of the best-timed one winning every race.

Times inside the scripts come from the Redis server's ``TIME`` (replicas' clocks are not
comparable) and are integer microseconds, so Lua's doubles stay exact. Every key carries the
``{budget}`` hash tag: one script may touch several scopes' keys (a channel and the bot),
which Redis Cluster allows only within one slot.

Every call is bounded by ``timeout`` (a stalled Redis must delay an edit by at most that,
never hang it), and any Redis failure becomes :class:`SessionStoreError` (both by
:class:`core.redis.LuaScript`); the scheduler then falls back to its local budgets rather
than stop replies.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.config import DEFAULT_NAMESPACE
from core.redis import NOW_US, LuaScript

__all__ = ["PAUSE", "TAKE", "SharedBudgetStore", "SharedVerdict"]

# Take one token from every scope of an edit, or from none.
# KEYS[i]   the budget hash of scope i: fields tat (GCRA theoretical arrival time, µs),
#           paused (end of the current 429 pause, µs), epoch (count of pause episodes),
#           rsv / rsv_until (the replica holding the next slot, and until when, µs)
# ARGV[1]   TTL of the hashes in ms (an idle budget is forgotten)
# ARGV[2]   the calling replica's id
# ARGV[2+i] scope i's emission interval in µs (1e6 / the caller's current rate)
# ARGV[2+n+i] scope i's burst
# Returns {wait_us, i, epoch}: {0, 0, 0} when a token was taken from every scope; otherwise
# nothing was taken, wait_us is how long scope i (the latest to be ready) needs, and epoch
# is scope i's pause episode while it is paused, else 0.
# A refused replica reserves the scope's next slot (for one interval past it) unless another
# holds it: without this, the replica whose own pacing lands exactly on the slots wins every
# race, and another replica's replies starve.
TAKE = LuaScript(
    "shared budget take",
    NOW_US
    + """
local now = now_us()
local ttl = tonumber(ARGV[1])
local me = ARGV[2]
local n = #KEYS
local worst, worst_i, worst_epoch = 0, 0, 0
local tats, rsvs = {}, {}
local function keep(key)
  if redis.call('PTTL', key) < ttl then redis.call('PEXPIRE', key, ttl) end
end
for i = 1, n do
  local st = redis.call('HMGET', KEYS[i], 'tat', 'paused', 'epoch', 'rsv', 'rsv_until')
  local tat = math.max(tonumber(st[1]) or now, now)
  local interval = tonumber(ARGV[2 + i])
  local ready = tat - (tonumber(ARGV[2 + n + i]) - 1) * interval
  local paused = tonumber(st[2]) or 0
  local epoch = 0
  if paused > now then epoch = tonumber(st[3]) or 0 end
  if paused > ready then ready = paused end
  local rsv_until = tonumber(st[5]) or 0
  if st[4] and st[4] ~= me and rsv_until > ready then ready = rsv_until end
  if ready - now > worst then
    worst, worst_i, worst_epoch = ready - now, i, epoch
  end
  tats[i] = tat + interval
  rsvs[i] = st[4]
end
if worst > 0 then
  local key = KEYS[worst_i]
  local st = redis.call('HMGET', key, 'rsv', 'rsv_until')
  if (not st[1]) or st[1] == me or (tonumber(st[2]) or 0) <= now then
    local until_ = now + worst + tonumber(ARGV[2 + worst_i])
    redis.call('HSET', key, 'rsv', me, 'rsv_until', string.format('%.0f', until_))
    keep(key)
  end
  return {math.ceil(worst), worst_i, worst_epoch}
end
for i = 1, n do
  redis.call('HSET', KEYS[i], 'tat', string.format('%.0f', tats[i]))
  if rsvs[i] == me then redis.call('HDEL', KEYS[i], 'rsv', 'rsv_until') end
  keep(KEYS[i])
end
return {0, 0, 0}
""",
)

# Record a 429: pause the scope for every replica.
# KEYS[1]   the budget hash of the scope (fields as above)
# ARGV[1]   the pause in µs (Retry-After)
# ARGV[2]   TTL of the hash in ms
# Returns the pause episode number. A 429 arriving while the scope is already paused extends
# the pause but is the same episode, so replicas lower their rate once per episode.
PAUSE = LuaScript(
    "shared budget pause",
    NOW_US
    + """
local now = now_us()
local st = redis.call('HMGET', KEYS[1], 'paused', 'epoch')
local paused = tonumber(st[1]) or 0
local epoch = tonumber(st[2]) or 0
if now >= paused then
  epoch = epoch + 1
end
local pause_end = math.max(paused, now + tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'paused', string.format('%.0f', pause_end), 'epoch', epoch)
redis.call('PEXPIRE', KEYS[1], math.ceil((pause_end - now) / 1000) + tonumber(ARGV[2]))
return epoch
""",
)


@dataclass(frozen=True, slots=True)
class SharedVerdict:
    """The store's answer: granted, or which scope must wait how long (and why)."""

    wait: float
    index: int = 0
    pause_epoch: int = 0

    @property
    def granted(self) -> bool:
        return self.wait <= 0


class SharedBudgetStore:
    """Atomic token taking and 429 pauses for budget scopes, in Redis."""

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str = DEFAULT_NAMESPACE,
        *,
        timeout: float = 0.5,
        idle_ttl: float = 120.0,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._timeout = timeout
        self._ttl_ms = math.ceil(idle_ttl * 1000)
        self._replica = uuid.uuid4().hex  # names this store's reservations

    def key(self, scope_key: str) -> str:
        return f"{self._namespace}:{{budget}}:{scope_key}"

    async def take(self, budgets: Sequence[tuple[str, float, float]]) -> SharedVerdict:
        """Take a token from every ``(scope key, rate, burst)``, or learn how long to wait."""
        keys = [self.key(key) for key, _, _ in budgets]
        intervals = [math.ceil(1e6 / rate) for _, rate, _ in budgets]
        bursts = [burst for _, _, burst in budgets]
        args: list[str | int | float] = [self._ttl_ms, self._replica, *intervals, *bursts]
        reply = await TAKE(self._redis, keys, args, within=self._timeout)
        wait_us, index, epoch = (int(x) for x in reply)
        return SharedVerdict(wait_us / 1e6, max(0, index - 1), epoch)

    async def pause(self, scope_key: str, seconds: float) -> int:
        """Record a 429 pause of ``seconds``; returns the pause episode number."""
        args = [math.ceil(seconds * 1e6), self._ttl_ms]
        reply = await PAUSE(self._redis, [self.key(scope_key)], args, within=self._timeout)
        return int(reply)

    def __repr__(self) -> str:
        return f"<SharedBudgetStore namespace={self._namespace!r}>"
