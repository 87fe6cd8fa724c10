"""Usage per day in Redis: per agent, route, channel and user, kept ``retention_days``.

One hash per day and dimension, ``<namespace>:{usage:<YYYY-MM-DD>}:<dimension>``, whose
fields are ``<figure>:<value>`` (``turns:support``, ``chars_out:slack/T1/C2``...): counters
only (``HINCRBY``), so every replica adds to the same figures without coordination. A
day's keys share one hash tag (one script writes them together) and expire
``retention_days`` after that day ends. Days are UTC.

Figures per value: ``turns``, ``chars_in``, ``chars_out``, ``agent_ms`` (the agent's
streaming time), ``ttft_ms`` and ``ttft_n`` (time to first token: sum and count, for the
mean), ``errors`` (replies the agent failed).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import redis.asyncio as aioredis

from core.redis import DEFAULT_OP_TIMEOUT, LuaScript, guarded, text

__all__ = ["DIMENSIONS", "RECORD", "Dimension", "TurnUsage", "UsageBook", "day_key"]

Dimension = Literal["agent", "route", "channel", "user"]
DIMENSIONS: tuple[Dimension, ...] = ("agent", "route", "channel", "user")
FIGURES = ("turns", "chars_in", "chars_out", "agent_ms", "ttft_ms", "ttft_n", "errors")

# Add one turn's figures to a day. KEYS 1-4: the day's agent, route, channel, user hashes.
# ARGV: 1-4 the turn's agent, route, channel, user; 5 chars in; 6 chars out; 7 agent ms;
#       8 time to first token ms (-1: none); 9 error (0 or 1); 10 expiry (Unix seconds).
# Returns 1.
RECORD = LuaScript(
    "usage record",
    """
local ttft = tonumber(ARGV[8])
for i = 1, 4 do
  local key, v = KEYS[i], ARGV[i]
  redis.call('HINCRBY', key, 'turns:' .. v, 1)
  redis.call('HINCRBY', key, 'chars_in:' .. v, ARGV[5])
  redis.call('HINCRBY', key, 'chars_out:' .. v, ARGV[6])
  redis.call('HINCRBY', key, 'agent_ms:' .. v, ARGV[7])
  if ttft >= 0 then
    redis.call('HINCRBY', key, 'ttft_ms:' .. v, ttft)
    redis.call('HINCRBY', key, 'ttft_n:' .. v, 1)
  end
  if ARGV[9] == '1' then redis.call('HINCRBY', key, 'errors:' .. v, 1) end
  redis.call('EXPIREAT', key, ARGV[10])
end
return 1
""",
)


@dataclass(frozen=True, slots=True)
class TurnUsage:
    """One answered turn, as usage counts it."""

    agent: str
    route: str
    channel: str
    user: str
    chars_in: int
    chars_out: int
    agent_seconds: float
    time_to_first_token: float | None
    error: bool

    def value(self, dimension: Dimension) -> str:
        return {"agent": self.agent, "route": self.route, "channel": self.channel,
                "user": self.user}[dimension]  # fmt: skip


def day_key(namespace: str, day: datetime.date, dimension: Dimension) -> str:
    return f"{namespace}:{{usage:{day.isoformat()}}}:{dimension}"


class UsageBook:
    """Writes and reads the usage figures of one deployment."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.op_timeout = op_timeout

    async def record(
        self, usage: TurnUsage, *, retention_days: int, when: datetime.datetime | None = None
    ) -> None:
        """Add one turn. Raises SessionStoreError when Redis fails."""
        now = when or datetime.datetime.now(datetime.UTC)
        day = now.astimezone(datetime.UTC).date()
        day_start = datetime.datetime.combine(day, datetime.time(), datetime.UTC)
        expiry = day_start + datetime.timedelta(days=retention_days + 1)
        ttft = usage.time_to_first_token
        await RECORD(
            self.redis,
            [day_key(self.namespace, day, d) for d in DIMENSIONS],
            [*(usage.value(d) for d in DIMENSIONS), usage.chars_in, usage.chars_out,
             round(usage.agent_seconds * 1000), -1 if ttft is None else round(ttft * 1000),
             1 if usage.error else 0, int(expiry.timestamp())],
            within=self.op_timeout,
        )  # fmt: skip

    async def read(
        self, dimension: Dimension, days: Iterable[datetime.date]
    ) -> dict[str, dict[str, int]]:
        """Figures per value of ``dimension``, summed over ``days``."""
        totals: dict[str, dict[str, int]] = {}
        for day in days:
            key = day_key(self.namespace, day, dimension)
            raw: Mapping[Any, Any] = await guarded(
                "usage read", self.redis.hgetall(key), within=self.op_timeout
            )
            for field, count in raw.items():
                figure, _, value = text(field).partition(":")
                if figure in FIGURES:
                    per_value = totals.setdefault(value, dict.fromkeys(FIGURES, 0))
                    per_value[figure] += int(text(count))
        return totals
