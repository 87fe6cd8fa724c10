"""Usage per day in Redis: every dimension counted, several days summed, bounded retention."""

from __future__ import annotations

import datetime
import time

import redis.asyncio as aioredis

from core.usage.book import DIMENSIONS, TurnUsage, UsageBook, day_key
from core.usage.report import last_days, rows_of, to_json, to_table, total_of

# Yesterday: a day recorded long ago would already have expired.
DAY = datetime.datetime.now(datetime.UTC).date() - datetime.timedelta(days=1)


def usage(agent: str = "support", user: str = "slack/U1", **kw: object) -> TurnUsage:
    values: dict[str, object] = {
        "agent": agent, "route": "routes[0]", "channel": "slack/T1/C1", "user": user,
        "chars_in": 10, "chars_out": 100, "agent_seconds": 2.5, "time_to_first_token": 0.5,
        "error": False,
    }  # fmt: skip
    values.update(kw)
    return TurnUsage(**values)  # type: ignore[arg-type]


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(12), datetime.UTC)


async def test_figures_per_dimension_summed_over_days(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    book = UsageBook(redis_client, namespace=namespace)
    await book.record(usage(), retention_days=90, when=at(DAY))
    await book.record(
        usage(user="slack/U2", time_to_first_token=None, error=True, chars_out=7),
        retention_days=90, when=at(DAY),
    )  # fmt: skip
    await book.record(usage("eng"), retention_days=90, when=at(DAY + datetime.timedelta(days=1)))
    days = [DAY, DAY + datetime.timedelta(days=1)]
    by_agent = await book.read("agent", days)
    assert by_agent["support"] == {
        "turns": 2, "chars_in": 20, "chars_out": 107, "agent_ms": 5000, "ttft_ms": 500,
        "ttft_n": 1, "errors": 1,
    }  # fmt: skip
    assert by_agent["eng"]["turns"] == 1
    assert (await book.read("agent", [DAY]))["support"]["turns"] == 2
    by_user = await book.read("user", days)
    assert by_user["slack/U1"]["turns"] == 2 and by_user["slack/U2"]["errors"] == 1
    assert (await book.read("channel", days))["slack/T1/C1"]["turns"] == 3
    assert (await book.read("route", days))["routes[0]"]["turns"] == 3


async def test_a_day_expires_retention_days_after_it_ends(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    book = UsageBook(redis_client, namespace=namespace)
    today = datetime.datetime.now(datetime.UTC).date()
    await book.record(usage(), retention_days=3, when=at(today))
    end_of_retention = datetime.datetime.combine(today, datetime.time(), datetime.UTC)
    end_of_retention += datetime.timedelta(days=4)
    expected = end_of_retention.timestamp() - time.time()
    for dimension in DIMENSIONS:
        ttl = await redis_client.ttl(day_key(namespace, today, dimension))
        assert abs(ttl - expected) < 60, (dimension, ttl, expected)


def test_the_table_and_json() -> None:
    totals = {
        "support": {"turns": 2, "chars_in": 20, "chars_out": 107, "agent_ms": 5000,
                    "ttft_ms": 500, "ttft_n": 1, "errors": 1},
        "eng": {"turns": 3, "chars_in": 1, "chars_out": 2, "agent_ms": 1500, "ttft_ms": 900,
                "ttft_n": 3, "errors": 0},
    }  # fmt: skip
    rows = rows_of(totals)
    assert [r.key for r in rows] == ["eng", "support"]  # most turns first
    table = to_table(rows, "agent", total_of(totals))
    assert table.splitlines() == [
        "agent    turns  chars in  chars out  agent s  first token s  errors",
        "eng          3         1          2      1.5           0.30       0",
        "support      2        20        107      5.0           0.50       1",
        "total        5        21        109      6.5           0.35       1",
    ]
    assert to_table([], "user") == "no usage recorded (by user)\n"
    day = datetime.date(2024, 5, 7)
    days = last_days(7, day)
    assert days[0] == datetime.date(2024, 5, 1) and days[-1] == day
    assert '"mean_first_token_seconds": 0.3' in to_json(rows, "agent", days)
