"""Crash recovery with the real Redis: replies are registered, orphans finalised once.

Deadlines are Redis's clock, so these tests run in real time with short intervals (a
fraction of a second); they wait for behaviour, with generous limits.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.errors import MessageGone, SurfaceError
from core.ops.recovery import BEAT, ORPHAN_NOTICE, Reaper, ReplyRegistry
from core.relay import Relay
from core.sessions.connect import redis_client
from core.surface import MessageRef, SurfaceLimits
from tests.relay.helpers import SpyScheduler, Step, scripted
from tests.surfaces import THREAD, RecordingSurface
from tests.waiting import eventually

TTL = 0.6
INTERVAL = 0.1
FLUSH = 0.1
LIMITS = SurfaceLimits(max_message_chars=2000, min_edit_interval=0.05, max_file_bytes=1024)
INDICATOR = LIMITS.streaming_indicator


def registry(redis: aioredis.Redis, namespace: str, owner: str) -> ReplyRegistry:
    reg = ReplyRegistry(redis, namespace=namespace, owner=owner, ttl=TTL, flush=FLUSH)
    reg.platforms.add(THREAD.platform)
    return reg


def reaper(reg: ReplyRegistry, surface: RecordingSurface, **kwargs: float) -> Reaper:
    r = Reaper(reg, interval=INTERVAL, **kwargs)  # type: ignore[arg-type]
    r.add(THREAD.platform, surface)
    return r


async def records(redis: aioredis.Redis, reg: ReplyRegistry) -> dict[str, dict[str, object]]:
    raw = await redis.hgetall(reg.keys(THREAD.platform)[0])
    return {str(k): json.loads(v) for k, v in raw.items()}


async def no_records(redis: aioredis.Redis, reg: ReplyRegistry) -> bool:
    return not await records(redis, reg)


async def slow_stream(gap: float, parts: int) -> AsyncIterator[str]:
    for i in range(parts):
        yield f"part{i} "
        await asyncio.sleep(gap)


async def test_a_streaming_reply_is_registered_then_removed(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    reg = registry(redis_client, namespace, "owner-a")
    surface = RecordingSurface(limits=LIMITS)
    relay = Relay(surface, SpyScheduler(), observer=reg)
    go_on = asyncio.Event()
    steps: list[Step] = [(0.0, "Hello"), (0.1, " world"), (go_on, " and goodbye.")]
    task = asyncio.create_task(relay.deliver(THREAD, scripted(steps)))

    async def shows_hello_world() -> bool:
        found = list((await records(redis_client, reg)).values())
        return bool(found) and found[0]["text"] == "Hello world" + INDICATOR

    await eventually(shows_hello_world)
    (record,) = (await records(redis_client, reg)).values()
    (message_id,) = surface.messages
    assert record["owner"] == "owner-a" and record["open"] == message_id
    assert (record["channel"], record["thread"]) == (THREAD.channel, THREAD.thread)

    go_on.set()
    outcome = await task
    assert outcome.text == "Hello world and goodbye."

    async def empty() -> bool:
        return not await records(redis_client, reg)

    await eventually(empty)
    assert not await redis_client.zcard(reg.keys(THREAD.platform)[1])
    await reg.aclose()


def count_beats(redis: aioredis.Redis, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every heartbeat write ``redis`` sends from now on (its BEAT script calls)."""
    writes: list[str] = []
    evalsha = redis.evalsha

    def counting(sha: str, *args: Any) -> Any:
        if sha == BEAT.sha:
            writes.append(sha)
        return evalsha(sha, *args)

    monkeypatch.setattr(redis, "evalsha", counting)
    return writes


async def until_text(redis: aioredis.Redis, reg: ReplyRegistry, shown: str) -> None:
    async def written() -> bool:
        return [r["text"] for r in (await records(redis, reg)).values()] == [shown]

    await eventually(written, what=f"the record showing {shown[:10]!r}")


async def test_text_writes_are_batched(
    redis_client: aioredis.Redis, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many edits per flush interval cost one write each interval, not one per edit."""
    reg = ReplyRegistry(redis_client, namespace=namespace, owner="a", ttl=30.0, flush=1.0)
    reg.platforms.add(THREAD.platform)
    writes = count_beats(redis_client, monkeypatch)
    watch = reg.begin(THREAD)
    assert watch is not None
    message = MessageRef(THREAD, "m1")
    watch.shown(message, "a" + INDICATOR, streaming=True)
    await until_text(redis_client, reg, "a" + INDICATOR)
    assert len(writes) == 1
    for i in range(50):  # 50 edits well within one flush interval
        watch.shown(message, "a" * (i + 2) + INDICATOR, streaming=True)
    await until_text(redis_client, reg, "a" * 51 + INDICATOR)  # the last shown text...
    assert len(writes) == 2  # ...in one write (the heartbeat is ttl / 3 = 10 s away)
    watch.finished()
    await reg.aclose()
    assert not await records(redis_client, reg)


async def test_orphan_is_finalised_once_by_two_replicas(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    owner_reg = registry(redis_client, namespace, "owner-a")
    platform = RecordingSurface(limits=LIMITS)
    relay = Relay(platform, SpyScheduler(), observer=owner_reg)
    steps = [(0.0, "Partial answer"), (0.1, " so far"), (60.0, " never sent")]
    task = asyncio.create_task(relay.deliver(THREAD, scripted(steps)))

    async def registered() -> bool:
        found = list((await records(redis_client, owner_reg)).values())
        return bool(found) and found[0]["text"] == "Partial answer so far" + INDICATOR

    await eventually(registered)
    # The owner dies: the agent is in a long pause, so the owner's writer is idle; stopping
    # its heartbeats is all that is left of dying (the relay task is never let finalise).
    for beat in list(owner_reg._tasks):
        beat.cancel()

    # Two other replicas reap, editing through the same platform (message store).
    regs = [registry(redis_client, namespace, f"replica-{i}") for i in "bc"]
    reapers = [reaper(r, platform) for r in regs]

    (message_id,) = platform.messages

    async def finalised() -> bool:
        return platform.messages[message_id].final

    await eventually(finalised)
    for r in reapers:  # both reapers scan again: no second finalisation
        assert await r.sweep() == 0
    notice = platform.render(ORPHAN_NOTICE)
    assert platform.texts() == [f"Partial answer so far\n\n{notice}"]
    notice_edits = [c for c in platform.calls_of("edit", message_id) if c.final]
    assert len(notice_edits) == 1
    assert sum(r.finalised for r in reapers) == 1
    assert not await records(redis_client, owner_reg)

    for r in reapers:
        await r.aclose()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for reg in (*regs, owner_reg):
        await reg.aclose()


async def test_a_healthy_slow_reply_is_never_reaped(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Gaps longer than the ttl between chunks: the heartbeat alone keeps the reply alive."""
    owner_reg = registry(redis_client, namespace, "owner-a")
    surface = RecordingSurface(limits=LIMITS)
    other = reaper(registry(redis_client, namespace, "replica-b"), surface)
    steps = [(0.0, "one"), (TTL * 1.5, " two"), (TTL * 1.5, " three"), (TTL * 1.5, " four")]
    outcome = await Relay(surface, SpyScheduler(), observer=owner_reg).deliver(
        THREAD, scripted(steps)
    )
    await eventually(lambda: no_records(redis_client, owner_reg))
    assert await other.sweep() == 0  # the finished reply's record is gone: nothing to reap
    assert outcome.status == "completed"
    assert surface.texts() == ["one two three four"]
    assert other.finalised == 0
    assert not [c for c in surface.calls if c.text and "restarted" in c.text]
    await other.aclose()
    await owner_reg.aclose()


async def orphan(
    redis: aioredis.Redis, namespace: str, message: MessageRef | None, shown: str
) -> ReplyRegistry:
    """A record left by a dead owner: written once, never beaten again."""
    owner = registry(redis, namespace, "dead-owner")
    watch = owner.begin(THREAD)
    assert watch is not None
    if message is not None:
        watch.shown(message, shown, streaming=True)
    else:  # the last page was closed and the next not posted yet
        watch.shown(MessageRef(THREAD, "m0"), shown, streaming=True)
        watch.shown(MessageRef(THREAD, "m0"), shown, streaming=False)

    async def written() -> bool:
        return bool(await records(redis, owner))

    await eventually(written)
    for beat in list(owner._tasks):
        beat.cancel()
    return owner


async def sweep_until_done(r: Reaper) -> None:
    async def swept() -> bool:
        await r.sweep()  # the record is claimed once its deadline (Redis's clock) passed
        return r.finalised > 0

    await eventually(swept, what="the orphan finalised")


async def test_no_open_message_gets_the_notice_as_a_new_message(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    await orphan(redis_client, namespace, None, "page one")
    surface = RecordingSurface(limits=LIMITS)
    r = Reaper(registry(redis_client, namespace, "b"), interval=INTERVAL)
    r.surfaces[THREAD.platform] = surface
    await sweep_until_done(r)
    assert surface.texts() == [ORPHAN_NOTICE]


async def test_a_deleted_message_drops_the_record(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "gone soon" + INDICATOR, streaming=True)
    surface.delete(message.message_id)
    owner = await orphan(redis_client, namespace, message, "gone soon" + INDICATOR)
    r = Reaper(registry(redis_client, namespace, "b"), interval=INTERVAL)
    r.surfaces[THREAD.platform] = surface
    await sweep_until_done(r)
    assert r.finalised == 1 and not await records(redis_client, owner)
    assert isinstance(surface.calls_of("edit")[-1].error, MessageGone)


async def test_a_full_page_gets_the_notice_in_its_own_message(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    full = "x" * (LIMITS.max_message_chars - len(INDICATOR))
    message = await surface.post(THREAD, full + INDICATOR, streaming=True)
    await orphan(redis_client, namespace, message, full + INDICATOR)
    r = Reaper(registry(redis_client, namespace, "b"), interval=INTERVAL)
    r.surfaces[THREAD.platform] = surface
    await sweep_until_done(r)
    assert surface.texts() == [full, ORPHAN_NOTICE]
    assert surface.messages[message.message_id].final


async def test_a_failing_surface_is_retried_then_given_up(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "stuck" + INDICATOR, streaming=True)
    owner = await orphan(redis_client, namespace, message, "stuck" + INDICATOR)
    surface.fail("edit", lambda: SurfaceError("platform down"), times=None)
    r = Reaper(registry(redis_client, namespace, "b"), interval=INTERVAL, lease=0.05, max_tries=2)
    r.surfaces[THREAD.platform] = surface

    async def given_up() -> bool:
        await r.sweep()  # claims once the deadline passed, again once each lease ran out
        return await no_records(redis_client, owner)

    await eventually(given_up, what="the record dropped")
    assert len(surface.calls_of("edit")) == 2  # claimed twice, then dropped
    assert r.finalised == 0 and not await records(redis_client, owner)


@pytest.fixture
async def dead_redis() -> AsyncIterator[aioredis.Redis]:
    client = redis_client("redis://127.0.0.1:1/0")  # nothing listens on port 1
    yield client
    await client.aclose()


async def test_redis_down_does_not_break_a_reply(
    dead_redis: aioredis.Redis, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    reg = registry(dead_redis, namespace, "owner-a")
    surface = RecordingSurface(limits=LIMITS)
    r = reaper(reg, surface)
    steps = [(0.0, "Still"), (0.2, " answered"), (0.2, " without Redis.")]
    outcome = await Relay(surface, SpyScheduler(), observer=reg).deliver(THREAD, scripted(steps))
    assert outcome.status == "completed"
    assert surface.texts() == ["Still answered without Redis."]

    def failed_scans() -> int:
        return sum("reaper:" in m for m in caplog.messages)

    await eventually(lambda: failed_scans() >= 3, what="three failed scans")
    assert r._task is not None and not r._task.done()  # the reaper survives failed scans
    await r.aclose()
    await reg.aclose()
