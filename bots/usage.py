"""``threadcast usage``: what the agents cost, per agent, route, channel or user, from Redis.

Reads the per-day figures every replica writes (:mod:`core.usage.book`) for the last
``--days`` UTC days (today included) and prints a table, or JSON with ``--json``; then
the 👍 / 👎 votes standing on each agent's replies (:mod:`core.feedback`), when there are
any (in JSON, always, under ``feedback``).
"""

from __future__ import annotations

import sys
from typing import TextIO

from core.config import Settings
from core.feedback.store import FeedbackStore
from core.sessions.connect import open_redis
from core.usage.book import Dimension, UsageBook
from core.usage.report import feedback_table, last_days, rows_of, to_json, to_table, total_of

__all__ = ["run_usage"]


async def run_usage(
    settings: Settings,
    *,
    days: int,
    by: Dimension,
    as_json: bool,
    out: TextIO = sys.stdout,
) -> int:
    redis, embedded = await open_redis(settings)
    try:
        book = UsageBook(redis, namespace=settings.redis_namespace)
        span = last_days(days)
        totals = await book.read(by, span)
        votes = await FeedbackStore(redis, namespace=settings.redis_namespace).counts()
    finally:
        await redis.aclose()
        if embedded is not None:
            await embedded.stop()
    rows = rows_of(totals)
    if as_json:
        out.write(to_json(rows, by, span, feedback=votes) + "\n")
    else:
        out.write(to_table(rows, by, total_of(totals)))
        if votes:
            out.write("\n" + feedback_table(votes))
    return 0
