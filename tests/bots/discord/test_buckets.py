"""discord.py's idle rate-limit buckets are pruned once per interval, not per new bucket."""

from __future__ import annotations

import asyncio

from discord.http import HTTPClient

from bots.discord.buckets import prune_buckets_every
from tests.fake_time import IN_MEMORY


@IN_MEMORY
async def test_idle_buckets_are_pruned_once_per_interval_not_per_new_bucket() -> None:
    loop = asyncio.get_running_loop()
    http = HTTPClient(loop)
    prune_buckets_every(http, every=60.0)
    for k in range(300):  # past discord.py's 256: each new bucket used to scan them all
        http.get_ratelimit(f"old-{k}")._last_request = loop.time() - 400  # idle (300 s)
    http.get_ratelimit("new-1")
    assert len(http._buckets) == 301  # the interval has not passed: no scan yet
    await asyncio.sleep(60)
    http.get_ratelimit("new-2")
    assert set(http._buckets) == {"new-1", "new-2"}  # one scan dropped every idle bucket
