"""Benchmark of the shared edit budget in Redis: two replicas drawing on one budget.

    uv run python tests/bench/bench_shared_budget.py [--duration 5] [--rate 20]

Two :class:`EditScheduler` instances, each with its own Redis connection (as two processes
have), run four replies each that take edit tokens as fast as they are granted, against an
embedded ``redis-server``. Printed, for the budget shared in Redis and (the control) for two
budgets each replica keeps alone:
- grants/s against the budget: shared, close to it and never above (the test suite asserts
  the ceiling); separate, about twice it (what the shared budget prevents);
- each replica's share of the grants: shared, near one half (replicas take turns).
These were assertions in tests/relay/test_scheduler_shared.py and the ``separate`` control of
tests/bots/discord/test_shared_budget.py; they depend on the machine's speed, so they are
figures here. Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from collections import Counter
from pathlib import Path

import redis.asyncio as aioredis

from core.relay.scheduler import EditScheduler
from core.relay.shared_budget import SharedBudgetStore
from core.sessions.embedded import EmbeddedRedis
from core.surface import BudgetScope
from tests.relay.helpers import take_turns


async def run(url: str, *, shared: bool, rate: float, duration: float) -> None:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    clients = [aioredis.from_url(url) for _ in range(2)]
    replicas = [
        EditScheduler(shared=SharedBudgetStore(c, namespace) if shared else None) for c in clients
    ]
    budget = BudgetScope("discord:bot", rate=rate, burst=2)
    try:
        grants = await take_turns(replicas, budget, seconds=duration)
    finally:
        for client in clients:
            await client.aclose()
    times = sorted(t for t, _ in grants)
    span = max(times[-1] - times[0], 1e-9)
    shares = Counter(r for _, r in grants)
    least = min(shares.get(0, 0), shares.get(1, 0)) / max(1, len(times))
    label = "shared  " if shared else "separate"
    print(
        f"{label}  {len(times) / span:6.1f} grants/s (budget {rate:g}/s)  "
        f"least replica's share {least:.2f} (target, shared: >= 0.25)"
    )


async def main_async(duration: float, rate: float) -> None:
    with tempfile.TemporaryDirectory() as directory:
        server = EmbeddedRedis(Path(directory))
        url = await server.start()
        try:
            for shared in (True, False):
                await run(url, shared=shared, rate=rate, duration=duration)
        finally:
            await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per variant")
    parser.add_argument("--rate", type=float, default=20.0, help="the budget, edits/s")
    args = parser.parse_args()
    asyncio.run(main_async(args.duration, args.rate))


if __name__ == "__main__":
    main()
