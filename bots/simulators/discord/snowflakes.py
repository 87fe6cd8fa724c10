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


def iso_timestamp(moment: datetime.datetime | None = None) -> str:
    """An ISO-8601 timestamp as Discord writes them (UTC, with offset)."""
    return (moment or datetime.datetime.now(datetime.UTC)).isoformat()
