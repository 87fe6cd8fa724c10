"""A process that takes quota turns: ``python -m tests.governance.quota_worker URL NS NAME``.

It waits until the key ``<NS>:go`` exists (so two workers start together), then asks for
ten turns at once for user U1 (user_turns_per_hour = 7) and prints how many it got.
"""

from __future__ import annotations

import asyncio
import sys

import redis.asyncio as aioredis

from core.deployment.schema import QuotaSpec
from core.governance.quotas import QuotaBook, QuotaGrant
from core.turn import ThreadRef, Turn

LIMITS = QuotaSpec(user_turns_per_hour=7)


async def main(url: str, namespace: str, name: str) -> None:
    redis: aioredis.Redis = aioredis.from_url(url, decode_responses=True)
    try:
        async with asyncio.timeout(30):
            while not await redis.exists(f"{namespace}:go"):  # noqa: ASYNC110 - Redis state
                await asyncio.sleep(0.01)
        quotas = QuotaBook(redis, namespace=namespace, slot_ttl=60.0)
        where = ThreadRef("slack", "T1", "C1", "t")
        turns = [Turn(where, "U1", f"{name}-{n}", "hi") for n in range(10)]
        results = await asyncio.gather(*(quotas.take(t, LIMITS) for t in turns))
        print(sum(isinstance(r, QuotaGrant) for r in results), flush=True)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
