"""A Slack native stream whose final ``chat.stopStream`` waits in the paced queue (a 429:
Tier 2) after the reply's final edit returned, and so after the reply's recovery record was
dropped. The stop carries the mark crash recovery reads and the 👍 / 👎 controls.

A replica SIGKILLed before that stop landed left the stream to expire on Slack's side,
shown broken for good, unmarked, without its controls: no record named it. The queued stop
now keeps a record of its own (``core.ops.recovery.owed``) until it lands: a reaper of
another replica ends the stream whole (text, mark, controls, no notice); a stop that lands
drops it, so nothing is finished twice.

Real ``threadcast slack`` processes, one Redis, the scripted Lyzr server (the helpers of
``test_recovery_e2e``: recovery ttl 1.5 s, scans every 0.5 s).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import redis.asyncio as aioredis

from bots.simulators.slack import SlackSimulator
from core.ops.recovery import ReplyRecord
from core.redis import text as as_text
from tests.bots.slack.conftest import mention, reply_script
from tests.bots.slack.test_shutdown_stops import ended_whole
from tests.ops.test_recovery_e2e import NOTICE_WORDS, Replica, StartReplica, sim, start_replica
from tests.servers.lyzr_server import LyzrServer
from tests.waiting import PATIENCE, eventually

__all__ = ["sim", "start_replica"]

NATIVE = {"SLACK_STREAMING": "native", "THREADCAST_FEEDBACK": "true"}
TEXT = "The whole reply, with its last words."
StartNative = Callable[[str], Awaitable[Replica]]


class Registry:
    """The Slack recovery scope of the test's namespace, read straight from Redis."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.namespace = namespace

    async def _key(self, part: str) -> str | None:
        pattern = f"{self.namespace}:{{recovery:slack:*}}:{part}"
        async for key in self.redis.scan_iter(match=pattern):
            return as_text(key)
        return None

    async def records(self) -> dict[str, ReplyRecord]:
        key = await self._key("replies")
        raw = await self.redis.hgetall(key) if key else {}
        return {as_text(k): ReplyRecord.parse(as_text(v)) for k, v in raw.items()}

    async def ended(self) -> list[str]:
        key = await self._key("ended")
        return [as_text(m) for m in await self.redis.zrange(key, 0, -1)] if key else []

    async def owners(self) -> list[str]:
        key = await self._key("owners")
        return [as_text(m) for m in await self.redis.zrange(key, 0, -1)] if key else []

    async def tries(self) -> dict[str, str]:
        key = await self._key("tries")
        raw = await self.redis.hgetall(key) if key else {}
        return {as_text(k): as_text(v) for k, v in raw.items()}

    async def reply_dropped(self) -> bool:
        """Whether the reply's own record was dropped (its final edit returned)."""
        return any(not id_.startswith("owed-") for id_ in await self.ended())


@pytest.fixture
def start_native(start_replica: StartReplica, redis_url: str) -> StartNative:
    """Start a replica (named) on the test's Redis, streaming natively with 👍 / 👎."""
    return lambda name: start_replica(name, redis_url, **NATIVE)


@pytest.fixture
async def registry(redis_url: str, namespace: str) -> AsyncIterator[Registry]:
    async with aioredis.from_url(redis_url) as redis:
        yield Registry(redis, namespace)


async def test_sigkill_while_a_final_stop_waits_for_its_rate_limit(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    registry: Registry,
    start_native: StartNative,
) -> None:
    a = await start_native("a")
    b = await start_native("b")
    ws = sim.workspace
    lyzr.enqueue(reply_script(TEXT))
    sim.fail_next("chat.stopStream", "ratelimited", retry_after=600)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "answer"))
    # The reply ended: its final edit returned (the text appended, the stop queued) and
    # its record was dropped. Then the replica dies, the stop still waiting.
    await eventually(registry.reply_dropped, what="the reply's record dropped")
    a.kill()
    await a.process.wait()
    (message,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert message.streaming and not ended_whole(message, TEXT)
    assert [c.error for c in sim.calls("chat.stopStream")] == ["ratelimited"]

    # No reaper knew the message: it stayed streaming until Slack expired it, then
    # shown broken for good. Now b's reaper ends it whole, as the stop would have.
    try:
        await sim.wait_for(lambda: ended_whole(message, TEXT), timeout=PATIENCE)
    except TimeoutError:
        raise AssertionError(f"not ended: {message!r}\n{b.log.read_text()[-3000:]}") from None
    assert NOTICE_WORDS not in message.text
    assert len(sim.bot_replies(ws.general, turn.thread_ts)) == 1  # no notice of its own

    async def none_left() -> bool:
        return not await registry.records()

    await eventually(none_left, what="the record dropped by the reaper")


async def test_a_queued_stop_that_lands_leaves_nothing_to_finish(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    registry: Registry,
    start_native: StartNative,
) -> None:
    a = await start_native("a")
    ws = sim.workspace
    lyzr.enqueue(reply_script(TEXT))
    sim.fail_next("chat.stopStream", "ratelimited", retry_after=1)
    seen = asyncio.Event()

    async def answer_once_seen(_: object) -> None:  # the queued stop's answer waits
        await seen.wait()

    sim.after_call("chat.stopStream", answer_once_seen)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "answer"))

    async def owed_only() -> bool:  # the reply's record gone, the stop's one kept
        records = await registry.records()
        return await registry.reply_dropped() and any(i.startswith("owed-") for i in records)

    await eventually(owed_only, what="the queued stop's final edit registered")
    (message,) = sim.bot_replies(ws.general, turn.thread_ts)
    ((record_id, record),) = (await registry.records()).items()
    assert record.handed_over and record.feedback == message.ts  # final, with 👍 / 👎
    assert [(p.message_id, p.text, p.stream) for p in record.pages] == [
        (message.ts, message.text, True)
    ]
    seen.set()

    await sim.wait_for(lambda: ended_whole(message, TEXT), timeout=PATIENCE)

    async def dropped() -> bool:
        return not await registry.records() and record_id in await registry.ended()

    await eventually(dropped, what="the record dropped once the stop landed")
    # a dies now: another replica's reaper finds nothing of it to finish again.
    a.kill()
    await a.process.wait()
    killed_at = len(sim.calls())
    await start_native("b")

    async def a_forgotten() -> bool:  # a reaper's claim found a dead, with nothing
        return record.owner not in await registry.owners()

    await eventually(a_forgotten, what="a presumed dead by b's reaper")
    assert not await registry.records() and not await registry.tries()
    touched = [c.method for c in sim.calls()[killed_at:] if c.method.startswith("chat.")]
    assert touched == []
    assert ended_whole(message, TEXT) and len(sim.bot_replies(ws.general, turn.thread_ts)) == 1
