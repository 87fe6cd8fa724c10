"""Stray copies (a post a surface retried blind, :class:`core.surface.StrayCopy`) are
records in the recovery registry, so any replica's reaper finalises them, even when the
replica that left one is gone; one not found is looked for again a few times, then given
up. Real Redis, short intervals; the tests wait for state, never for a duration.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

import redis.asyncio as aioredis

from core.errors import PlatformUnavailable
from core.ops.recovery import Reaper, Recovery, ReplyRecord, ReplyRegistry
from core.ops.recovery.reaper import STRAY_TRIES, SweepsStrays
from core.surface import StrayCopy
from tests.ops.test_recovery import BOT, INTERVAL, LIMITS, TTL, kill, records, until
from tests.relay.helpers import SpyScheduler
from tests.surfaces import THREAD, RecordingSurface

STRAY = StrayCopy(THREAD, "Hello", ("Hello ▍", "Hello &lt;b&gt;"), 1_700_000_000.5, "M2", True)


class StraySurface(RecordingSurface):
    """Finds the stray at its ``found_at``-th lookup (0: never); the first ``fail`` lookups
    fail (a 429)."""

    def __init__(self, found_at: int = 1, fail: int = 0) -> None:
        super().__init__(limits=LIMITS)
        self.strays: Callable[[StrayCopy], Awaitable[None]] | None = None
        self.found_at = found_at
        self.failing = fail
        self.lookups = 0
        self.finalised: list[StrayCopy] = []

    async def finalise_stray(self, stray: StrayCopy) -> bool:
        if self.failing:
            self.failing -= 1
            raise PlatformUnavailable("conversations.replies: ratelimited")
        self.lookups += 1
        if self.lookups != self.found_at:
            return False
        self.finalised.append(stray)
        return True


def replica(redis: aioredis.Redis, namespace: str, owner: str, surface: StraySurface) -> Recovery:
    reg = ReplyRegistry(redis, namespace=namespace, owner=owner, ttl=TTL)
    reaper = Reaper(reg, SpyScheduler(), interval=INTERVAL)
    rec = Recovery(reg, reaper, stray_delay=INTERVAL)
    rec.serve(THREAD.platform, BOT, surface)
    return rec


def test_a_stray_record_round_trips() -> None:
    record = ReplyRecord.of_stray("owner-a", STRAY)
    assert ReplyRecord.parse(record.to_json()) == record
    assert ReplyRecord.parse(record.to_json()).stray == STRAY


async def test_a_stray_left_by_a_dead_replica_is_finalised_by_another(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    left = StraySurface()
    a = replica(redis_client, namespace, "a", left)
    assert isinstance(left, SweepsStrays) and left.strays is not None  # wired by serve
    await kill(a)  # its reaper is gone before the stray is due
    await left.strays(STRAY)
    assert [r["stray"] for r in (await records(redis_client, a.registry)).values()] == [
        ["Hello", ["Hello ▍", "Hello &lt;b&gt;"], 1_700_000_000.5, "M2", True, ""]
    ]

    other = StraySurface()
    b = replica(redis_client, namespace, "b", other)
    try:
        assert await until(lambda: _empty(redis_client, b))
        assert other.finalised == [STRAY]  # once, by the replica alive
        assert left.finalised == []
    finally:
        await b.aclose()


async def test_a_stray_never_found_is_given_up_after_a_few_lookups(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Not given up while lookups fail; given up once one finds nothing at the last scan."""
    surface = StraySurface(found_at=0, fail=STRAY_TRIES + 1)
    rec = replica(redis_client, namespace, "a", surface)
    try:
        assert surface.strays is not None
        await surface.strays(STRAY)
        assert await until(lambda: _empty(redis_client, rec))
        # Every scan up to past the last failed (a 429); the first that answered gave up.
        assert surface.failing == 0 and surface.lookups == 1
        assert surface.finalised == []
    finally:
        await rec.aclose()


async def test_a_stray_found_at_a_later_lookup_is_finalised(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The platform's history may lag behind its posts: not found is looked for again."""
    surface = StraySurface(found_at=3)
    rec = replica(redis_client, namespace, "a", surface)
    try:
        assert surface.strays is not None
        await surface.strays(STRAY)
        assert await until(lambda: _empty(redis_client, rec))
        assert surface.finalised == [STRAY] and surface.lookups == 3
    finally:
        await rec.aclose()


async def test_a_stray_left_before_its_retry_is_replaced_once_the_retry_is_known(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Left before the blind retry (no ``kept``: not looked for until the retry has surely
    been answered), then again under the post's key once it has: one record, the last."""
    surface = StraySurface()
    rec = replica(redis_client, namespace, "a", surface)
    try:
        assert surface.strays is not None
        pending = replace(STRAY, kept="", key="k1")
        await surface.strays(pending)
        (left,) = (await records(redis_client, rec.registry)).values()
        assert left["stray"] == [*list(left["stray"])[:3], "", True, "k1"]  # type: ignore[call-overload]
        assert rec.pending_delay >= 2 * TTL and surface.lookups == 0
        await surface.strays(replace(pending, kept="M2"))
        assert await until(lambda: _empty(redis_client, rec))
        assert surface.finalised == [replace(pending, kept="M2")]
    finally:
        await rec.aclose()


async def _empty(redis: aioredis.Redis, rec: Recovery) -> bool:
    return not await records(redis, rec.registry)
