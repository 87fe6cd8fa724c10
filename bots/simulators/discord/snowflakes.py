"""Discord snowflake ids: time-ordered, unique, and readable by discord.py's helpers.

discord.py derives times from ids (``snowflake_time``; it picks the delete sub-bucket by a
message's age), so ids carry the real creation time like Discord's do.
"""

from __future__ import annotations

import datetime
import time

__all__ = ["DISCORD_EPOCH_MS", "SnowflakeFactory", "iso_timestamp"]

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeFactory:
    """Hands out strictly increasing snowflakes (timestamp << 22 | worker | counter)."""

    def __init__(self, worker: int = 1) -> None:
        self._worker = worker & 0x1F
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = (now_ms << 22) | (self._worker << 17)
        # Several ids in one millisecond: step past the last one instead of colliding.
        self._last = max(candidate, self._last + 1)
        return self._last

    def next_on_shard(self, shard_id: int, shard_count: int) -> int:
        """The next id whose guild would land on shard ``shard_id`` of ``shard_count``.

        Discord routes a guild to the shard ``(guild_id >> 22) % shard_count`` (Gateway >
        Sharding, https://discord.com/developers/docs/topics/gateway#sharding): the id's
        millisecond picks the shard. A test that needs a guild on a given shard gets one
        whose millisecond is at most ``shard_count - 1`` ahead of now, as if the guild had
        been made that much later.
        """
        snowflake = self.next()
        millisecond = snowflake >> 22
        ahead = (shard_id - millisecond) % shard_count
        if ahead:
            snowflake = ((millisecond + ahead) << 22) | (self._worker << 17)
            self._last = snowflake
        return snowflake


def iso_timestamp(moment: datetime.datetime | None = None) -> str:
    """An ISO-8601 timestamp as Discord writes them (UTC, with offset)."""
    return (moment or datetime.datetime.now(datetime.UTC)).isoformat()
