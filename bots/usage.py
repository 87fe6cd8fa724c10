"""``threadcast usage``: what the agents cost, per agent, route, channel or user, from Redis.

Reads the per-day figures every replica writes (:mod:`core.usage.book`) for the last
``--days`` UTC days (today included) and prints a table, or JSON with ``--json``.
"""

from __future__ import annotations

import sys
from typing import TextIO

from core.config import Settings
from core.sessions.connect import open_redis
from core.usage.book import Dimension, UsageBook
from core.usage.report import last_days, rows_of, to_json, to_table, total_of

__all__ = ["run_usage"]


async def run_usage(
    settings: Settings, *, days: int, by: Dimension, as_json: bool, out: TextIO = sys.stdout
) -> int:
    redis, embedded = await open_redis(settings)
    try:
        book = UsageBook(redis, namespace=settings.redis_namespace)
        span = last_days(days)
        totals = await book.read(by, span)
    finally:
        await redis.aclose()
        if embedded is not None:
            await embedded.stop()
    rows = rows_of(totals)
    out.write(to_json(rows, by, span) + "\n" if as_json else to_table(rows, by, total_of(totals)))
    return 0
