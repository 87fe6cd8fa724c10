"""Two real processes on one Redis share a quota: 20 turns asked at once, 7 allowed, and
exactly 7 granted in all (the check and the count are one atomic script)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import redis.asyncio as aioredis

from tests import forked

ROOT = Path(__file__).parents[2]


async def test_two_processes_share_one_quota(
    redis_url: str, redis_client: aioredis.Redis, namespace: str
) -> None:
    workers = []
    for name in ("a", "b"):
        # Forked from the run's fork server (tests/forked.py): no interpreter start-up.
        worker = await forked.start(
            sys.executable, "-m", "tests.governance.quota_worker", redis_url, namespace, name,
            env=os.environ, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        workers.append(worker)
    await redis_client.set(f"{namespace}:go", "1")
    outputs = [await worker.communicate() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    granted = [int(out.decode()) for out, _ in outputs]
    assert sum(granted) == 7, granted
