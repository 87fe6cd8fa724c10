"""A double fault: Redis is silent when a reply finishes, so its recovery record cannot be
removed, and the replica then dies while Redis is still silent. The record survives; a
reaper on another replica must not "finish" that complete reply as an orphan (it used to
add the "cut off" notice under it): it reads the message first, sees the writer's final
edit (no indicator, no Stop button), and drops the record without an edit.

Real ``threadcast slack`` / ``threadcast discord`` processes, one Redis whose writes are
held (``CLIENT PAUSE WRITE``: scripts included, so no record write, drop or claim runs
until it is lifted), the simulators and the scripted Lyzr server.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from contextlib import AsyncExitStack

import redis.asyncio as aioredis

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.model import Message
from tests.bots.slack.conftest import mention, reply_script
from tests.ops.test_recovery_e2e import (
    INDICATOR,
    NOTICE_WORDS,
    Replica,
    StartReplica,
    sim,
    start_replica,
)
from tests.ops.test_recovery_posting import MESSAGES, _discord_replica, _open
from tests.servers.lyzr_server import LyzrServer
from tests.waiting import PATIENCE, eventually

__all__ = ["sim", "start_replica"]

WORDS = " ".join(f"word{i}" for i in range(60))


async def _records(redis: aioredis.Redis, namespace: str, platform: str) -> list[dict[str, object]]:
    """Every recovery record of ``platform``'s replies in this test's namespace."""
    found: list[dict[str, object]] = []
    async for key in redis.scan_iter(match=f"{namespace}:{{recovery:{platform}:*}}:replies"):
        found += [json.loads(raw) for raw in await redis.hvals(key)]
    return found


async def _a_page_is_recorded(redis: aioredis.Redis, namespace: str, platform: str) -> bool:
    return any(r.get("pages") for r in await _records(redis, namespace, platform))


async def _slack_reply_completed_while_silent(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis: aioredis.Redis,
    namespace: str,
    a: Replica,
    *,
    shown: Callable[[list[Message]], bool],
    complete: Callable[[list[Message]], bool],
) -> tuple[str, int]:
    """The double fault on Slack: ``a`` streams a reply held after 50 words; once its
    replies are ``shown`` and a page is recorded, Redis is made silent, the reply finishes
    (``complete``) and ``a`` is SIGKILLed, then Redis answers again. Returns the thread and
    how many calls the simulator had seen at the kill."""
    ws = sim.workspace
    script = reply_script(WORDS, delay=0.01, hold_after=50)
    lyzr.enqueue(script)
    sim.events_url = a.events_url
    thread = (await sim.user_says(ws.general, ws.alice, mention(sim, "a story"))).thread_ts
    await sim.wait_for(lambda: shown(sim.bot_replies(ws.general, thread)), timeout=PATIENCE)
    await eventually(lambda: _a_page_is_recorded(redis, namespace, "slack"))
    await redis.client_pause(120_000, all=False)  # silent: lifted below
    try:
        script.hold.set()
        await sim.wait_for(lambda: complete(sim.bot_replies(ws.general, thread)),
                           timeout=PATIENCE)  # fmt: skip
        a.kill()
        await a.process.wait()
        return thread, len(sim.calls())
    finally:
        await redis.client_unpause()


async def test_slack_a_reply_completed_while_redis_was_silent_gets_no_notice(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    redis_client: aioredis.Redis,
    start_replica: StartReplica,
    namespace: str,
) -> None:
    a = await start_replica("a", redis_url)
    b = await start_replica("b", redis_url)
    ws = sim.workspace

    def complete(replies: list[Message]) -> bool:
        return bool(replies) and replies[-1].blocks is None and replies[-1].text.endswith("word59")

    thread, killed_at = await _slack_reply_completed_while_silent(
        sim, lyzr, redis_client, namespace, a,
        shown=lambda replies: any("word49" in r.text for r in replies), complete=complete,
    )  # fmt: skip
    # The record outlived its owner; B takes it once A's deadline has passed, and drops it
    # (B runs throughout, so it may have done so already: its log says so, below).
    await eventually(lambda: _dropped(redis_client, namespace, "slack"), what="the record dropped")
    (reply,) = sim.bot_replies(ws.general, thread)
    assert NOTICE_WORDS not in reply.text and INDICATOR not in reply.text
    assert reply.text.endswith("word59") and reply.blocks is None
    after = sim.calls()[killed_at:]
    assert not [c for c in after if c.method in ("chat.update", "chat.postMessage")]
    reads = [c for c in after if c.method == "conversations.replies"]
    assert reads and all(str(c.params.get("limit")) == "2" for c in reads)
    assert "was complete" in b.log.read_text()


async def _dropped(redis: aioredis.Redis, namespace: str, platform: str) -> bool:
    return not await _records(redis, namespace, platform)


async def test_slack_a_native_stream_completed_while_redis_was_silent_gets_no_notice(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    redis_client: aioredis.Redis,
    start_replica: StartReplica,
    namespace: str,
) -> None:
    """The same with native streams (``SLACK_STREAMING=native``): a stream shows neither
    the indicator nor a Stop button while it streams, so the reaper reads the mark the
    writer's final ``chat.stopStream`` leaves in the message's metadata."""
    native = {"SLACK_STREAMING": "native"}
    a = await start_replica("a", redis_url, **native)
    b = await start_replica("b", redis_url, **native)
    ws = sim.workspace

    def streaming(replies: list[Message]) -> bool:
        return bool(replies) and replies[-1].streaming and "word45" in replies[-1].text

    def complete(replies: list[Message]) -> bool:
        return (
            bool(replies)
            and not replies[-1].streaming
            and replies[-1].text.rstrip().endswith("word59")
        )

    thread, killed_at = await _slack_reply_completed_while_silent(
        sim, lyzr, redis_client, namespace, a, shown=streaming, complete=complete
    )
    await eventually(lambda: _dropped(redis_client, namespace, "slack"), what="the record dropped")
    (reply,) = sim.bot_replies(ws.general, thread)
    assert NOTICE_WORDS not in reply.text and reply.text.rstrip().endswith("word59")
    after = sim.calls()[killed_at:]
    assert not [c for c in after if c.method.startswith("chat.")]
    reads = [c for c in after if c.method == "conversations.replies"]
    assert reads and all(c.params.get("include_all_metadata") in (True, "1", "true")
                         for c in reads)  # fmt: skip
    assert "was complete" in b.log.read_text()


async def test_discord_a_reply_completed_while_redis_was_silent_gets_no_notice(
    lyzr: LyzrServer, redis_url: str, redis_client: aioredis.Redis, namespace: str
) -> None:
    """The same on Discord; the reaper is a restarted replica's (one gateway session)."""
    async with DiscordSimulator() as sim, AsyncExitStack() as stack:
        a = await _discord_replica(stack, sim, lyzr, redis_url, namespace)
        await sim.wait_for_session(within=PATIENCE)
        script = reply_script(WORDS, delay=0.01, hold_after=50)
        lyzr.enqueue(script)
        start = await sim.user_message(sim.channel("general").id, "a story", mention_bot=True)

        def shows(words: str) -> bool:
            return any(words in m.content for m in sim.posts(start.id))

        await sim.wait_until(lambda: shows("word49"), within=PATIENCE)
        await eventually(lambda: _a_page_is_recorded(redis_client, namespace, "discord"))
        await redis_client.client_pause(120_000, all=False)  # silent: lifted below
        try:
            script.hold.set()

            def complete() -> bool:
                replies = sim.posts(start.id)
                return bool(replies) and not _open(replies[-1]) and shows("word59")

            await sim.wait_until(complete, within=PATIENCE)
            a.send_signal(signal.SIGKILL)
            await a.wait()
            killed_at = len(sim.calls)
        finally:
            await redis_client.client_unpause()
        assert await _records(redis_client, namespace, "discord")
        await _discord_replica(stack, sim, lyzr, redis_url, namespace)
        await eventually(
            lambda: _dropped(redis_client, namespace, "discord"), what="the record dropped"
        )
        (reply,) = sim.posts(start.id)
        assert NOTICE_WORDS not in reply.content and not _open(reply)
        assert reply.content.endswith("word59")
        after = sim.calls[killed_at:]
        assert not [c for c in after if c.method in ("PATCH", "POST") and c.route in (
            MESSAGES, MESSAGES + "/{message_id}")]  # fmt: skip
        reads = [c for c in after if c.method == "GET" and c.route == MESSAGES + "/{message_id}"]
        assert [c.params.get("message_id") for c in reads] == [str(reply.id)]
