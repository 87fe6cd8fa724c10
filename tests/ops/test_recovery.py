"""Crash and outage recovery with the real Redis: turns are registered, what their owner
could not finish is finished once, by a reaper of the same bot only.

Deadlines are Redis's clock, so these tests run in real time with short intervals (a
fraction of a second); they wait for behaviour (with generous limits as a safety net),
never for a duration.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from core.errors import MessageGone, PlatformUnavailable, SurfaceError
from core.models import AgentStream
from core.ops.recovery import (
    Page,
    Reaper,
    Recovery,
    RecoveryKeys,
    RegisteredReply,
    ReplyRecord,
    ReplyRegistry,
)
from core.ops.recovery.registry import DROP, WRITE
from core.relay import Relay
from core.relay.outcome import ReplyOutcome
from core.relay.sender import RetryPolicy
from core.sessions.connect import redis_client
from core.surface import MessageRef, SurfaceLimits
from core.texts import ORPHAN_NOTICE, UNANSWERED_NOTICE
from core.turn import ThreadRef
from tests.bots.discord.slow_redis import SlowRedis
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, FeedbackSurface, RecordingSurface

TTL = 0.6
INTERVAL = 0.1
BOUND = TTL + INTERVAL
PATIENCE = 10.0  # a safety net so a broken recovery fails instead of hanging
BOT = "B1"
LIMITS = SurfaceLimits(max_message_chars=2000, min_edit_interval=0.05, max_file_bytes=1024)
INDICATOR = LIMITS.streaming_indicator
# Final edits give up quickly here, so a test can outlast them in real time.
QUICK = RetryPolicy(backoff=0.01, max_backoff=0.05, retry_for=0.3, finish_timeout=5.0)


def registry(redis: aioredis.Redis, namespace: str, owner: str, bot: str = BOT) -> ReplyRegistry:
    reg = ReplyRegistry(redis, namespace=namespace, owner=owner, ttl=TTL)
    reg.serve(THREAD.platform, bot)
    return reg


def watched(
    redis: aioredis.Redis, namespace: str, owner: str, bot: str = BOT
) -> tuple[ReplyRegistry, RecoveryKeys, RegisteredReply]:
    """A replica's registry serving the bot, and a reply in THREAD it registers."""
    reg = registry(redis, namespace, owner, bot)
    keys = reg.keys(THREAD.platform)
    assert keys is not None
    return reg, keys, RegisteredReply(reg, keys, THREAD)


def recovery(
    redis: aioredis.Redis, namespace: str, owner: str, surface: RecordingSurface,
    bot: str = BOT, **reaper: float,
) -> Recovery:  # fmt: skip
    """One replica's recovery, started: heartbeat and reaper."""
    reg = ReplyRegistry(redis, namespace=namespace, owner=owner, ttl=TTL)
    rec = Recovery(reg, Reaper(reg, SpyScheduler(), interval=INTERVAL, **reaper))  # type: ignore[arg-type]
    rec.serve(THREAD.platform, bot, surface)
    return rec


async def until(check: Callable[[], Awaitable[bool]], within: float = PATIENCE) -> bool:
    loop = asyncio.get_running_loop()
    end = loop.time() + within
    while loop.time() < end:
        if await check():
            return True
        await asyncio.sleep(0.02)
    return await check()


async def records(redis: aioredis.Redis, reg: ReplyRegistry) -> dict[str, dict[str, object]]:
    keys = reg.keys(THREAD.platform)
    assert keys is not None
    raw = await redis.hgetall(keys.replies)
    return {str(k): json.loads(v) for k, v in raw.items()}


async def first_record(redis: aioredis.Redis, reg: ReplyRegistry) -> dict[str, object] | None:
    """The one reply's record (these tests stream one reply at a time); None until written."""
    found = list((await records(redis, reg)).values())
    return found[0] if found else None


async def kill(rec: Recovery) -> None:
    """What SIGKILL leaves of a replica's recovery: nothing beats or writes any more."""
    await rec.heartbeat.aclose()
    await rec.reaper.aclose()
    for task in list(rec.registry._tasks):
        task.cancel()


async def test_a_streaming_reply_is_registered_then_removed(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    rec, gate, task = held_reply(redis_client, namespace, surface)

    async def shows_hello_world() -> bool:
        record = await first_record(redis_client, rec.registry)
        # The record is written before the post is sent: wait for both.
        if record is None or not surface.messages:
            return False
        return record["pages"] == [[next(iter(surface.messages)), "Hello world" + INDICATOR, False]]

    assert await until(shows_hello_world)
    (record,) = (await records(redis_client, rec.registry)).values()
    assert record["owner"] == "owner-a" and record["posted"] is True
    assert (record["channel"], record["thread"]) == (THREAD.channel, THREAD.thread)
    gate.set()
    outcome = await task
    assert outcome.text == "Hello world and goodbye."

    async def empty() -> bool:
        return not await records(redis_client, rec.registry)

    assert await until(empty)
    await rec.aclose()


def held_reply(
    redis: aioredis.Redis, namespace: str, surface: RecordingSurface
) -> tuple[Recovery, asyncio.Event, asyncio.Task[ReplyOutcome]]:
    """Replica "owner-a" streaming :func:`gated`'s reply onto ``surface``: its recovery,
    the gate that lets the reply end, and the relay's task."""
    rec = recovery(redis, namespace, "owner-a", surface)
    gate = asyncio.Event()
    relay = Relay(surface, SpyScheduler(), observer=rec)
    return rec, gate, asyncio.create_task(relay.deliver(THREAD, gated(gate)))


async def gated(gate: asyncio.Event) -> AsyncIterator[AgentStream]:
    """An agent that says "Hello world", waits for ``gate``, then ends its reply."""
    yield AgentStream(content="Hello")
    yield AgentStream(content=" world")
    await gate.wait()
    yield AgentStream(content=" and goodbye.")
    yield AgentStream(content="", done=True)


async def test_every_edit_is_written_before_it_is_sent(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """When the platform applies an edit, the record already holds its text: a finaliser
    never shows less than the screen did (the record used to trail by up to a second)."""
    seen: list[tuple[str, object]] = []

    class Checking(RecordingSurface):
        async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
            record = await first_record(redis_client, rec.registry)
            pages = record["pages"] if record else []
            seen.append((text, pages))
            await super().edit(message, text, final=final)

    surface = Checking(limits=LIMITS)
    rec = recovery(redis_client, namespace, "owner-a", surface)
    steps = [(0.0, "w0"), *[(0.06, f" w{i}") for i in range(1, 12)]]
    await Relay(surface, SpyScheduler(), observer=rec).deliver(THREAD, scripted(steps))
    streaming = [(text, pages) for text, pages in seen if text.endswith(INDICATOR)]
    assert len(streaming) >= 3
    for text, pages in streaming:
        assert pages and pages[-1][1] == text  # type: ignore[index]
    await rec.aclose()


async def test_writes_are_coalesced(redis_client: aioredis.Redis, namespace: str) -> None:
    """Many updates while a write is pending cost one write, carrying the last one."""
    reg = registry(redis_client, namespace, "a")
    keys = reg.keys(THREAD.platform)
    assert keys is not None
    writes = 0
    write = reg.write

    async def counting(*args: object, **kwargs: object) -> bool:
        nonlocal writes
        writes += 1
        return await write(*args, **kwargs)  # type: ignore[arg-type]

    reg.write = counting  # type: ignore[method-assign]
    watch = RegisteredReply(reg, keys, THREAD)
    message = MessageRef(THREAD, "m1")
    for i in range(50):  # 50 updates before the loop runs the pending write
        watch.shown(message, "a" * (i + 1) + INDICATOR, streaming=True)

    async def written() -> bool:
        record = await first_record(redis_client, reg)
        return record is not None and record["pages"] == [["m1", "a" * 50 + INDICATOR, False]]

    assert await until(written)
    assert writes == 1
    watch.shown(message, "a" * 50, streaming=False)  # final: nothing left to finish
    watch.finished()
    await reg.aclose()
    assert not await records(redis_client, reg)


async def test_orphan_is_finalised_once_by_two_replicas(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    platform = RecordingSurface(limits=LIMITS)
    owner = recovery(redis_client, namespace, "owner-a", platform)
    relay = Relay(platform, SpyScheduler(), observer=owner)
    steps = [(0.0, "Partial answer"), (0.1, " so far"), (60.0, " never sent")]
    task = asyncio.create_task(relay.deliver(THREAD, scripted(steps)))

    async def registered() -> bool:
        record = await first_record(redis_client, owner.registry)
        pages = record["pages"] if record else []
        return bool(pages) and pages[0][1] == "Partial answer so far" + INDICATOR  # type: ignore[index]

    assert await until(registered)
    await kill(owner)  # the agent pauses: the owner's writer is idle; its beats stop
    others = [recovery(redis_client, namespace, f"replica-{i}", platform) for i in "bc"]
    (message_id,) = platform.messages

    async def finalised() -> bool:
        return platform.messages[message_id].final

    assert await until(finalised)

    async def forgotten() -> bool:
        return not await records(redis_client, owner.registry)

    assert await until(forgotten)

    async def counted() -> bool:  # the sweep that dropped it counts it once it has returned
        return sum(o.reaper.finalised for o in others) > 0

    assert await until(counted)
    for other in others:  # both reapers scan again: no second finalisation
        await other.reaper.sweep()
    notice = platform.render(ORPHAN_NOTICE)
    assert platform.texts() == [f"Partial answer so far\n\n{notice}"]
    notice_edits = [c for c in platform.calls_of("edit", message_id) if c.final]
    assert len(notice_edits) == 1
    assert sum(o.reaper.finalised for o in others) == 1

    for other in others:
        await other.aclose()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await owner.aclose()


async def test_another_bots_reaper_never_touches_an_orphan(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Two bots on one Redis (same namespace): each repairs only its own replies (bot B
    used to claim bot A's orphan and fail with channel_not_found)."""
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "half" + INDICATOR, streaming=True)
    await orphan(redis_client, namespace, message, "half" + INDICATOR, bot="A")
    other_bot = Reaper(registry(redis_client, namespace, "b", bot="B"), SpyScheduler())
    other_bot.serve(THREAD.platform, surface)
    own_bot = Reaper(registry(redis_client, namespace, "c", bot="A"), SpyScheduler())
    own_bot.serve(THREAD.platform, surface)

    async def finished_by_own_bot() -> bool:
        await other_bot.sweep()
        return await own_bot.sweep() == 1

    assert await until(finished_by_own_bot)
    assert other_bot.finalised == 0
    assert surface.calls_of("edit")[-1].message_id == message.message_id
    assert surface.texts() == [f"half\n\n{surface.render(ORPHAN_NOTICE)}"]


async def test_a_healthy_slow_reply_is_never_reaped(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Gaps longer than the ttl between chunks: the heartbeat alone keeps the reply alive."""
    surface = RecordingSurface(limits=LIMITS)
    owner = recovery(redis_client, namespace, "owner-a", surface)
    other = recovery(redis_client, namespace, "replica-b", surface)
    steps = [(0.0, "one"), (TTL * 1.5, " two"), (TTL * 1.5, " three"), (TTL * 1.5, " four")]
    outcome = await Relay(surface, SpyScheduler(), observer=owner).deliver(THREAD, scripted(steps))
    await other.reaper.sweep()
    assert outcome.status == "completed"
    assert surface.texts() == ["one two three four"]
    assert other.reaper.finalised == 0
    assert not [c for c in surface.calls if c.text and "restarted" in c.text]
    await other.aclose()
    await owner.aclose()


async def orphan(
    redis: aioredis.Redis, namespace: str, message: MessageRef | None, shown: str,
    *, bot: str = BOT, posted: bool = True,
) -> ReplyRegistry:  # fmt: skip
    """A record left by a dead owner: written, never beaten again."""
    owner, _, watch = watched(redis, namespace, "dead-owner", bot=bot)
    if message is not None:
        watch.shown(message, shown, streaming=True)
    elif posted:  # the last page was closed and the next not posted yet
        watch.shown(MessageRef(THREAD, "m0"), shown, streaming=True)
        watch.shown(MessageRef(THREAD, "m0"), shown, streaming=False)

    async def written() -> bool:
        record = await first_record(redis, owner)
        return record is not None and record["posted"] is (message is not None or posted)

    assert await until(written)
    for task in list(owner._tasks):
        task.cancel()
    return owner


async def sweep_until_done(r: Reaper) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + PATIENCE
    while r.finalised == 0 and loop.time() < end:
        await r.sweep()
        await asyncio.sleep(INTERVAL)


def reaper_of(redis: aioredis.Redis, namespace: str, surface: RecordingSurface) -> Reaper:
    r = Reaper(registry(redis, namespace, "b"), SpyScheduler(), interval=INTERVAL)
    r.serve(THREAD.platform, surface)
    return r


async def test_no_open_message_gets_the_notice_as_a_new_message(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    await orphan(redis_client, namespace, None, "page one")
    surface = RecordingSurface(limits=LIMITS)
    await sweep_until_done(reaper_of(redis_client, namespace, surface))
    assert surface.texts() == [ORPHAN_NOTICE]


async def test_a_turn_that_never_showed_anything_is_told_to_ask_again(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Queued behind another turn, or killed before its first post: the user is told, and
    the thinking status is cleared (it used to stay "Thinking…" with no reply)."""
    await orphan(redis_client, namespace, None, "", posted=False)
    surface = RecordingSurface(limits=LIMITS)
    await surface.set_status(THREAD, "Thinking…")
    await sweep_until_done(reaper_of(redis_client, namespace, surface))
    assert surface.texts() == [UNANSWERED_NOTICE]
    assert surface.statuses[-1] is None


async def test_a_deleted_message_drops_the_record(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "gone soon" + INDICATOR, streaming=True)
    surface.delete(message.message_id)
    owner = await orphan(redis_client, namespace, message, "gone soon" + INDICATOR)
    r = reaper_of(redis_client, namespace, surface)

    async def dropped() -> bool:
        await r.sweep()
        return not await records(redis_client, owner)

    assert await until(dropped)
    assert isinstance(surface.calls_of("edit")[-1].error, MessageGone)


async def test_a_full_page_gets_the_notice_in_its_own_message(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    full = "x" * (LIMITS.max_message_chars - len(INDICATOR))
    message = await surface.post(THREAD, full + INDICATOR, streaming=True)
    await orphan(redis_client, namespace, message, full + INDICATOR)
    await sweep_until_done(reaper_of(redis_client, namespace, surface))
    assert surface.texts() == [full, ORPHAN_NOTICE]
    assert surface.messages[message.message_id].final


async def test_a_failing_surface_keeps_the_record_until_it_succeeds(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """A platform down for longer than a scan: the orphan is retried, with backoff, until
    the edit goes through (it used to be dropped after three tries)."""
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "stuck" + INDICATOR, streaming=True)
    owner = await orphan(redis_client, namespace, message, "stuck" + INDICATOR)
    surface.fail("edit", lambda: SurfaceError("platform down"), times=None)
    r = Reaper(registry(redis_client, namespace, "b"), SpyScheduler(), interval=0.01, lease=0.05)
    r.serve(THREAD.platform, surface)

    async def failed_often() -> bool:
        await r.sweep()
        return len(surface.calls_of("edit")) >= 5

    assert await until(failed_often)
    assert await records(redis_client, owner)  # still kept
    surface.heal()
    await sweep_until_done(r)
    assert surface.texts() == [f"stuck\n\n{surface.render(ORPHAN_NOTICE)}"]
    assert not await records(redis_client, owner)


async def test_final_edits_an_outage_held_back_are_made_once_the_platform_is_back(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The reply ends while the platform is down, after its own retries: the record is
    handed over, not dropped, and a reaper makes the final edit (no notice: the reply was
    complete) — the message never keeps its indicator or Stop button."""
    surface = RecordingSurface(limits=LIMITS)
    rec = recovery(redis_client, namespace, "owner-a", surface)
    steps = [(0.0, "All"), (0.1, " of"), (0.1, " it")]

    relay = Relay(surface, SpyScheduler(), observer=rec, policy=QUICK)
    first_shown = asyncio.Event()
    surface.on_update = lambda *_: first_shown.set()
    task = asyncio.create_task(relay.deliver(THREAD, scripted(steps)))
    await first_shown.wait()
    for kind in ("edit", "post"):
        surface.fail(kind, lambda: PlatformUnavailable("service_unavailable"), times=None)
    outcome = await task
    assert not outcome.delivered  # the reply's own retries gave up
    (message_id,) = surface.messages
    assert not surface.messages[message_id].final

    async def handed_over() -> bool:
        record = await first_record(redis_client, rec.registry)
        return record is not None and record["handed_over"] is True

    assert await until(handed_over)
    surface.heal()
    assert await until(lambda: _final(surface, message_id))
    assert surface.texts() == ["All of it"]

    async def forgotten() -> bool:
        return not await records(redis_client, rec.registry)

    assert await until(forgotten)
    await rec.aclose()


async def test_a_reply_never_posted_during_an_outage_is_posted_once_it_is_back(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The platform is down from the start and longer than the reply's retries: the final
    text is handed over and posted by a reaper once the platform is back."""
    surface = RecordingSurface(limits=LIMITS)
    rec = recovery(redis_client, namespace, "owner-a", surface)
    surface.fail("post", lambda: PlatformUnavailable("HTTP 503"), times=None)
    relay = Relay(surface, SpyScheduler(), observer=rec, policy=QUICK)
    outcome = await relay.deliver(THREAD, scripted([(0.0, "Late"), (0.05, " answer")]))
    assert not outcome.delivered and not surface.texts()

    async def handed_over() -> bool:
        record = await first_record(redis_client, rec.registry)
        return record is not None and record["unsent"] == ["Late answer"]

    assert await until(handed_over)
    surface.heal()

    async def posted() -> bool:
        return surface.texts() == ["Late answer"] and not await records(redis_client, rec.registry)

    assert await until(posted)
    await rec.aclose()


async def test_a_finish_cut_short_before_its_final_edit_leaves_that_edit_to_the_reapers(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The reply's finish runs out of time (``finish_timeout``: a busy machine) while its
    final edit waits for the message's pace: the final text — not the streaming one the
    message shows, indicator and all — is handed over, and a reaper makes that edit."""
    surface = RecordingSurface(limits=replace(LIMITS, min_edit_interval=1.0))
    rec = recovery(redis_client, namespace, "owner-a", surface)
    more = asyncio.Event()
    relay = Relay(surface, SpyScheduler(), observer=rec,
                  policy=replace(QUICK, finish_timeout=0.2))  # fmt: skip
    task = asyncio.create_task(relay.deliver(THREAD, scripted([(0.0, "Late"), (more, " answer")])))

    async def shown() -> bool:
        return surface.texts() == ["Late" + INDICATOR]

    assert await until(shown)
    more.set()  # the stream ends just after the first post: the final edit must wait
    outcome = await task
    assert surface.texts() == ["Late" + INDICATOR] and outcome.undelivered

    async def finished() -> bool:
        return surface.texts() == ["Late answer"] and not await records(redis_client, rec.registry)

    assert await until(finished)
    assert all(message.final for message in surface.messages.values())
    await rec.aclose()


@pytest.mark.parametrize("landed", [True, False], ids=["recorded", "not recorded"])
async def test_a_completed_replys_final_edit_left_to_the_reapers_keeps_its_feedback_controls(
    redis_client: aioredis.Redis, namespace: str, landed: bool
) -> None:
    """As above, on a surface with 👍 / 👎: the reaper's final edit is the one with the
    controls, as the owner's would have been, once the reply was recorded for votes (its
    record names the page); a reply whose votes record never landed gets a plain one."""
    surface = FeedbackSurface(limits=replace(LIMITS, min_edit_interval=1.0))
    rec = recovery(redis_client, namespace, "owner-a", surface)
    more = asyncio.Event()
    relay = Relay(surface, SpyScheduler(), observer=rec,
                  policy=replace(QUICK, finish_timeout=0.2))  # fmt: skip

    async def record_for_votes(message: MessageRef) -> bool:
        return landed

    chunks = scripted([(0.0, "Late"), (more, " answer")])
    task = asyncio.create_task(relay.deliver(THREAD, chunks, offer_feedback=record_for_votes))

    async def shown() -> bool:
        return surface.texts() == ["Late" + INDICATOR]

    assert await until(shown)
    (message_id,) = surface.messages
    more.set()  # the stream ends just after the first post: the final edit must wait
    outcome = await task
    assert outcome.feedback is None and outcome.undelivered  # the owner showed none

    async def finished() -> bool:
        return surface.texts() == ["Late answer"] and not await records(redis_client, rec.registry)

    assert await until(finished)
    assert all(message.final for message in surface.messages.values())
    assert surface.offered == ([(message_id, "Late answer")] if landed else [])
    await rec.aclose()


async def test_final_edits_of_a_reply_never_registered_are_handed_over_all_the_same(
    redis_url: str, namespace: str
) -> None:
    """A burst: the reply's registration never reached Redis (its write timed out before
    it was sent; the retry had not run yet) when the reply ended with a final edit left
    to make. The hand-over registers it, and a reaper makes that edit; it used to be
    refused (no holder), and the message stayed streaming for ever."""
    async with slow_owner(redis_url, namespace, op_timeout=0.2) as (proxy, owner, keys):
        surface = RecordingSurface(limits=LIMITS)
        message = await surface.post(THREAD, "Hi" + INDICATOR, streaming=True)
        proxy.swallow(WRITE.sha.encode())  # the registration never reaches Redis
        watch = RegisteredReply(owner, keys, THREAD)

        async def sent() -> bool:
            return bool(proxy.swallowed)

        assert await until(sent)
        watch.owed(message, "Hi")  # the finish was cut short before its final edit
        watch.finished()
        await asyncio.gather(*owner._tasks)
    async with redis_client(redis_url) as redis:
        await sweep_until_done(reaper_of(redis, namespace, surface))
        assert surface.texts() == ["Hi"] and surface.messages[message.message_id].final


@asynccontextmanager
async def slow_owner(
    redis_url: str, namespace: str, *, op_timeout: float
) -> AsyncIterator[tuple[SlowRedis, ReplyRegistry, RecoveryKeys]]:
    """A replica's registry serving the bot, reaching Redis through a proxy that can hold
    back chosen scripts (and so time out after ``op_timeout``)."""
    async with SlowRedis(redis_url) as proxy, redis_client(proxy.url) as client:
        owner = ReplyRegistry(client, namespace=namespace, owner="owner-a", ttl=TTL,
                              op_timeout=op_timeout)  # fmt: skip
        yield proxy, owner, owner.serve(THREAD.platform, BOT)


async def _final(surface: RecordingSurface, message_id: str) -> bool:
    return bool(surface.messages[message_id].final)


@pytest.fixture
async def dead_redis() -> AsyncIterator[aioredis.Redis]:
    client = redis_client("redis://127.0.0.1:1/0")  # nothing listens on port 1
    yield client
    await client.aclose()


async def test_redis_down_does_not_break_a_reply(
    dead_redis: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    rec = recovery(dead_redis, namespace, "owner-a", surface)
    steps = [(0.0, "Still"), (0.2, " answered"), (0.2, " without Redis.")]
    outcome = await Relay(surface, SpyScheduler(), observer=rec).deliver(THREAD, scripted(steps))
    assert outcome.status == "completed"
    assert surface.texts() == ["Still answered without Redis."]
    task = rec.reaper._task
    assert task is not None
    assert not task.done()  # the reaper survives failed scans
    await rec.aclose()


async def test_a_registration_redis_was_too_slow_for_is_written_again(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """A burst slows Redis past the registry's op timeout just as a turn is accepted: the
    turn is registered once Redis answers, so when its replica dies before the reply shows
    anything, another replica tells the user to send it again. The registration used to
    be the only write of a queued turn: timed out, the turn was unknown to every reaper and
    its user got nothing (bench_scale at N = 300: 125 registrations timed out)."""
    owner = ReplyRegistry(redis_client, namespace=namespace, owner="owner-a", ttl=TTL,
                          op_timeout=0.1)  # fmt: skip
    keys = owner.serve(THREAD.platform, BOT)
    # Redis holds every write for 0.5 s (CLIENT PAUSE WRITE: scripts included), as a
    # saturated server or event loop does.
    await redis_client.client_pause(500, all=False)
    try:
        watch = RegisteredReply(owner, keys, THREAD)  # accepted, waiting behind another turn

        async def registered() -> bool:
            return bool(await records(redis_client, owner))

        assert await until(registered)
    finally:
        await redis_client.client_unpause()
    for task in list(owner._tasks):  # SIGKILL: nothing beats or writes any more
        task.cancel()
    surface = RecordingSurface(limits=LIMITS)
    await sweep_until_done(reaper_of(redis_client, namespace, surface))
    assert surface.texts() == [UNANSWERED_NOTICE]
    assert watch.record.posted is False


async def test_a_record_whose_write_timed_out_is_removed_when_the_reply_ends(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """A write that timed out on our side may have landed: the record is removed at the
    end all the same (left behind, a later reaper would add a bogus "send it again" notice
    under a complete reply once this replica restarts)."""
    owner, _, watch = watched(redis_client, namespace, "owner-a")

    async def registered() -> bool:
        return bool(await records(redis_client, owner))

    assert await until(registered)
    watch._written = False  # what a timed-out first write leaves: landed, not confirmed
    watch.finished()
    await owner.aclose()
    assert not await records(redis_client, owner)


async def test_a_complete_reply_s_record_is_removed_however_long_redis_does_not_answer(
    redis_url: str, namespace: str
) -> None:
    """Redis does not answer the removal of a complete reply's record for longer than the
    2 ttl it used to be tried for (a burst on a loaded machine): it is tried again until
    Redis answers, and no reaper later adds a "send it again" notice under the complete
    reply (the record used to stay, and the replica's next restart had it "finished")."""
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "Done" + INDICATOR, streaming=True)
    async with slow_owner(redis_url, namespace, op_timeout=0.1) as (proxy, owner, keys):
        watch = RegisteredReply(owner, keys, THREAD)
        watch.shown(message, "Done" + INDICATOR, streaming=True)

        async def written() -> bool:
            return bool(await records(owner.redis, owner))

        assert await until(written)
        await surface.edit(message, "Done", final=True)
        # Each try takes op_timeout, then up to ttl / 3 of backoff: the tries below
        # outlast the former 2 ttl of patience.
        tries = 12
        for _ in range(tries):
            proxy.swallow(DROP.sha.encode())
        watch.shown(message, "Done", streaming=False)
        watch.finished()

        async def outlasted() -> bool:
            return len(proxy.swallowed) >= tries

        assert await until(outlasted)

        async def removed() -> bool:
            return not await records(owner.redis, owner)

        assert await until(removed)
    async with redis_client(redis_url) as redis:
        assert await reaper_of(redis, namespace, surface).sweep() == 0
    assert surface.texts() == ["Done"]


async def test_a_reply_finished_as_an_orphan_is_not_finished_again_when_its_owner_hands_it_over(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The owner was only slow (its beats did not land), not dead: a reaper finished its
    reply as an orphan, then the owner ended it with a final edit left to make. The
    hand-over is refused; the hand-over used to find no record, register the reply anew,
    and a reaper edited the message a second time (the notice gone, the text changed)."""
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "half" + INDICATOR, streaming=True)
    owner, _, watch = watched(redis_client, namespace, "slow-owner")
    watch.shown(message, "half" + INDICATOR, streaming=True)

    async def written() -> bool:
        return bool(await records(redis_client, owner))

    assert await until(written)  # no beat follows: the owner is presumed dead after TTL
    reaper = reaper_of(redis_client, namespace, surface)
    await sweep_until_done(reaper)
    finished = f"half\n\n{surface.render(ORPHAN_NOTICE)}"
    assert reaper.finalised == 1 and surface.texts() == [finished]
    watch.owed(message, "half and the rest")  # the owner's final edit failed
    watch.finished()
    await asyncio.gather(*owner._tasks)
    assert await reaper.sweep() == 0
    assert surface.texts() == [finished]
    assert not await records(redis_client, owner)


async def test_a_first_write_landing_after_its_reply_ended_does_not_register_it_again(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """A reply handed over and finished by a reaper; then a first write of its owner that
    Redis had held back lands. It is refused: it used to register the reply again, held by
    its owner, and once that owner was gone a reaper added a notice to the complete reply."""
    surface = RecordingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "All" + INDICATOR, streaming=True)
    owner, keys, watch = watched(redis_client, namespace, "owner-a")
    late = replace(watch.record)
    watch.owed(message, "All of it")
    watch.finished()
    await asyncio.gather(*owner._tasks)
    reaper = reaper_of(redis_client, namespace, surface)
    await sweep_until_done(reaper)
    assert surface.texts() == ["All of it"] and not await records(redis_client, owner)
    late.pages = [Page(message.message_id, "All" + INDICATOR)]
    late.posted = True
    assert not await owner.write(keys, watch.reply_id, late, first=True)
    assert not await records(redis_client, owner)
    assert await reaper.sweep() == 0 and surface.texts() == ["All of it"]


async def test_an_orphan_a_reaper_is_still_finishing_is_not_taken_by_another(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """A reaper whose post waits for a saturated budget longer than its lease keeps the
    reply: another reaper does not finish it again. Reapers used to take 20 replies with
    one lease and finish them one after another, each waiting for the workspace's budget,
    so the lease ran out under the last ones and another replica finished them too
    (bench_scale: 39 of 42 orphans finished twice, "send it again" posted twice)."""
    await orphan(redis_client, namespace, None, "", posted=False)
    release = asyncio.Event()

    held: list[str] = []

    class Saturated(RecordingSurface):
        """Its first post waits (for the budget) until the test releases it."""

        async def post(
            self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
        ) -> MessageRef:
            if not held:
                held.append(text)
                await release.wait()
            return await super().post(where, text, streaming=streaming)

    surface = Saturated(limits=LIMITS)
    lease = 0.3
    first = Reaper(registry(redis_client, namespace, "b"), SpyScheduler(), lease=lease)
    first.serve(THREAD.platform, surface)
    second = Reaper(registry(redis_client, namespace, "c"), SpyScheduler(), lease=lease)
    second.serve(THREAD.platform, surface)
    finishing = asyncio.create_task(sweep_until_done(first))  # once the owner is overdue

    async def waiting() -> bool:
        return bool(held)

    assert await until(waiting)
    taken_at = await redis_now(redis_client)

    async def lease_long_over() -> bool:
        return await redis_now(redis_client) > taken_at + 3 * lease

    assert await until(lease_long_over)
    assert await second.sweep() == 0
    release.set()
    await finishing
    assert first.finalised == 1
    assert surface.texts() == [UNANSWERED_NOTICE]
    assert not await records(redis_client, first.registry)


async def redis_now(redis: aioredis.Redis) -> float:
    """Redis's clock (the registry's deadlines are in it), in seconds."""
    seconds, micros = await redis.time()
    return seconds + micros / 1e6


async def test_every_post_is_written_before_it_is_sent(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """When the platform takes a post, the record already says one is pending, with its
    text (a replica killed before the post's answer leaves a message no record names); the
    answer then names the message as the reply's newest, and the post as landed."""
    pending: list[tuple[str, object]] = []

    class Checking(RecordingSurface):
        async def post(
            self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
        ) -> MessageRef:
            record = await first_record(redis_client, rec.registry)
            pending.append((text, record["posting"] if record else None))
            return await super().post(where, text, streaming=streaming)

    surface = Checking(limits=LIMITS)
    rec, gate, task = held_reply(redis_client, namespace, surface)

    async def landed() -> bool:
        record = await first_record(redis_client, rec.registry)
        return record is not None and bool(record["pages"]) and record["posting"] is None

    assert await until(landed)
    (record,) = (await records(redis_client, rec.registry)).values()
    assert record["last"] == next(iter(surface.messages))
    assert pending and all(text == written for text, written in pending)
    gate.set()
    await task
    await rec.aclose()


class SlowRegistry(ReplyRegistry):
    """A Redis that stops answering writes after the first (a slow or stuck Redis)."""

    stuck_now = False

    async def write(
        self, keys: RecoveryKeys, reply_id: str, record: ReplyRecord, *, first: bool,
        within: float | None = None,
    ) -> bool:  # fmt: skip
        if self.stuck_now:
            await asyncio.Event().wait()  # never answers; the caller's timeout ends it
        return await super().write(keys, reply_id, record, first=first, within=within)


async def test_a_stuck_registry_never_holds_a_post_back(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The write ahead of a post waits ``ahead_timeout`` at most, then the post goes."""
    surface = RecordingSurface(limits=LIMITS)
    reg = SlowRegistry(redis_client, namespace=namespace, owner="owner-a", ttl=TTL,
                       ahead_timeout=0.05)  # fmt: skip
    keys = reg.serve(THREAD.platform, BOT)
    watch = RegisteredReply(reg, keys, THREAD)

    async def registered() -> bool:
        return bool(await records(redis_client, reg))

    assert await until(registered)
    reg.stuck_now = True
    relay = Relay(surface, SpyScheduler(), observer=_Observer(watch))
    outcome = await relay.deliver(THREAD, scripted([(0.0, "hello")]))
    assert outcome.text == "hello" and surface.texts() == ["hello"]
    await reg.aclose()


class _Observer:
    def __init__(self, watch: RegisteredReply) -> None:
        self.watch = watch

    def begin(self, where: ThreadRef, *, since: str | None = None) -> RegisteredReply:
        return self.watch


def test_a_record_without_posting_fields_is_read() -> None:
    """Records written before ``posting`` and ``last`` existed (a rolling upgrade)."""
    raw = json.dumps({"owner": "o", "platform": "slack", "workspace": "T", "channel": "C",
                      "thread": "1.0", "pages": [], "posted": False,
                      "handed_over": False})  # fmt: skip
    record = ReplyRecord.parse(raw)
    assert record.posting is None and record.last is None
    again = ReplyRecord.parse(record.to_json())
    assert again == record


class ReadingSurface(RecordingSurface):
    """A surface that reads its messages back (``shows_final``), as Slack's and Discord's
    do: a message shows a finished reply once its final edit landed."""

    async def shows_final(self, message: MessageRef) -> bool | None:
        self._record("read", message_id=message.message_id)
        found = self.messages.get(message.message_id)
        return None if found is None else found.final


async def test_a_complete_reply_left_as_an_orphan_gets_no_notice(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """Its owner finished the reply while Redis was silent (the record stayed), then died:
    the last page shows the final edit, so nothing is added; an earlier page turned early,
    whose owed final edit never came, only loses its indicator."""
    surface = ReadingSurface(limits=LIMITS)
    first = await surface.post(THREAD, "page one" + INDICATOR, streaming=True)
    last = await surface.post(THREAD, "page two" + INDICATOR, streaming=True)
    owner, _, watch = watched(redis_client, namespace, "dead-owner")
    watch.shown(first, "page one" + INDICATOR, streaming=True)
    watch.shown(last, "page two" + INDICATOR, streaming=True)

    async def written() -> bool:
        record = await first_record(redis_client, owner)
        return record is not None and len(record["pages"]) == 2  # type: ignore[arg-type]

    assert await until(written)
    for task in list(owner._tasks):
        task.cancel()
    await surface.edit(last, "page two, the end", final=True)  # Redis never heard of it
    edits_before = len(surface.calls_of("edit"))
    reaper = reaper_of(redis_client, namespace, surface)
    await sweep_until_done(reaper)
    assert surface.texts() == ["page one", "page two, the end"]
    edits = surface.calls_of("edit")[edits_before:]
    assert [c.message_id for c in edits] == [first.message_id]
    assert [c.message_id for c in surface.calls_of("read")] == [last.message_id,
                                                               first.message_id]  # fmt: skip
    assert not await records(redis_client, owner)


async def test_an_orphan_still_streaming_is_read_then_finished_with_the_notice(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = ReadingSurface(limits=LIMITS)
    message = await surface.post(THREAD, "half" + INDICATOR, streaming=True)
    await orphan(redis_client, namespace, message, "half" + INDICATOR)
    await sweep_until_done(reaper_of(redis_client, namespace, surface))
    assert surface.texts() == ["half\n\n" + ORPHAN_NOTICE]
    assert [c.message_id for c in surface.calls_of("read")] == [message.message_id]
