"""Budgets shared by replicas through Redis (a real server; real time, small budgets)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter

import pytest
import redis.asyncio as aioredis

from core.errors import RateLimited, SessionStoreError
from core.relay.budget import DECREASE_FACTOR
from core.relay.scheduler import EditScheduler
from core.relay.shared_budget import SharedBudgetStore
from core.surface import BudgetScope
from tests.relay.helpers import take_turns


@pytest.fixture
async def replicas(redis_url: str, namespace: str):
    """Two schedulers, each with its own Redis connection, as two processes would have."""
    clients = [aioredis.from_url(redis_url) for _ in range(2)]
    try:
        yield [EditScheduler(shared=SharedBudgetStore(c, namespace)) for c in clients]
    finally:
        for client in clients:
            await client.aclose()


async def test_two_replicas_stay_within_one_budget_together(
    replicas: list[EditScheduler], redis_client: aioredis.Redis, namespace: str
) -> None:
    budget = BudgetScope("discord:bot", rate=20.0, burst=2)
    grants = await take_turns(replicas, budget, seconds=1.5)
    times = sorted(t for t, _ in grants)
    span = times[-1] - times[0]
    # alone, each replica's local budget would allow 20/s: together they get 20/s at most
    # (a ceiling: a slow machine only grants less). How close to the budget they get, and
    # how evenly, are throughput figures: tests/bench/bench_shared_budget.py prints them.
    assert len(times) <= budget.burst + budget.rate * span + 1  # +1: Redis vs loop clock
    per_replica = Counter(r for _, r in grants)
    assert len(per_replica) == 2  # both replicas were granted edits: they take turns
    key = f"{namespace}:{{budget}}:discord:bot"
    assert await redis_client.exists(key)
    assert await redis_client.pttl(key) > 0  # an idle budget expires


async def test_a_429_on_one_replica_pauses_and_slows_the_other(
    replicas: list[EditScheduler],
) -> None:
    first, second = replicas
    budget = BudgetScope("slack:T1:chat.update", rate=50.0)
    loop = asyncio.get_running_loop()
    await second.acquire([budget], urgent=False, since=0.0)
    paused_at = loop.time()
    first.rate_limited([budget], RateLimited(0.5))
    await first.flush()  # the pause is recorded in Redis
    await second.acquire([budget], urgent=True, since=0.0)
    assert loop.time() - paused_at >= 0.45  # the other replica's 429 held this one too
    bucket = second.bucket(budget.key)
    assert bucket is not None
    assert bucket.rate == pytest.approx(50.0 * DECREASE_FACTOR)  # and it adapted, once
    await second.acquire([budget], urgent=True, since=0.0)
    assert bucket.rate == pytest.approx(50.0 * DECREASE_FACTOR)


async def test_a_failing_redis_falls_back_to_local_budgets(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = aioredis.from_url(f"redis://127.0.0.1:{port}", socket_connect_timeout=0.2)
    store = SharedBudgetStore(client, "tc-down", timeout=0.3)
    with pytest.raises(SessionStoreError):
        await store.take([("k", 1.0, 1.0)])
    scheduler = EditScheduler(shared=store)
    budget = BudgetScope("k", rate=1000.0, burst=5)
    with caplog.at_level(logging.WARNING, logger="core.relay.scheduler"):
        for _ in range(5):
            await scheduler.acquire([budget], urgent=False, since=0.0)
        scheduler.rate_limited([budget], RateLimited(0.01))
        await scheduler.flush()
    assert "local edit budgets" in caplog.text
    assert "not shared" in caplog.text
    await client.aclose()
