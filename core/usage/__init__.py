"""Usage: what each reply cost (measured as it streams), kept per day in Redis and shown
by ``threadcast usage``; per-agent figures for Prometheus."""

from __future__ import annotations

from core.usage.book import DIMENSIONS, Dimension, TurnUsage, UsageBook
from core.usage.meter import ReplyMeter, metered
from core.usage.report import UsageRow, last_days, rows_of, to_json, to_table, total_of

__all__ = [
    "DIMENSIONS",
    "Dimension",
    "ReplyMeter",
    "TurnUsage",
    "UsageBook",
    "UsageRow",
    "last_days",
    "metered",
    "rows_of",
    "to_json",
    "to_table",
    "total_of",
]
