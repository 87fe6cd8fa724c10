"""Two real ``threadcast slack`` processes (HTTP mode) sharing one Redis, against the Slack
simulator and the scripted Lyzr server: a SIGKILLed replica's reply is finalised by the
other; one thread's turns sent to alternating replicas are answered once each, in order;
a Redis restart mid-turn does not leave the reply (or the next turn) broken.

Recovery timing is shortened through the environment (ttl 1.5 s, scans every 0.5 s).
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from adapters.slack.final_mark import EVENT_TYPE
from bots.simulators.slack import SlackSimulator
from core.sessions.embedded import EmbeddedRedis
from core.texts import ORPHAN_NOTICE, UNANSWERED_NOTICE
from tests import forked
from tests.bots.slack.conftest import mention, reply_script
from tests.deploy.containers import agent_env
from tests.deploy.platforms import slack_env
from tests.processes import healthy
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrScript, LyzrServer
from tests.waiting import PATIENCE, eventually

TTL = 1.5
INTERVAL = 0.5
NOTICE_WORDS = "cut off because the bot restarted"
UNANSWERED_WORDS = "restarted before it could answer"
INDICATOR = "▍"
THREADCAST = forked.THREADCAST


@dataclass
class Replica:
    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)


StartReplica = Callable[..., Awaitable[Replica]]


@pytest.fixture
async def sim() -> AsyncIterator[SlackSimulator]:
    async with SlackSimulator() as simulator:
        yield simulator


@pytest.fixture
async def start_replica(
    sim: SlackSimulator, lyzr: LyzrServer, tmp_path: Path, namespace: str
) -> AsyncIterator[StartReplica]:
    replicas: list[Replica] = []

    async def start(name: str, redis_url: str, **extra: str) -> Replica:
        port = free_port()
        env = {
            **os.environ,
            **slack_env(sim),
            "SLACK_EDIT_INTERVAL": "0.2",
            "SLACK_RENDER": "mrkdwn",  # a final reply has no blocks: read as "ended" below
            "THREADCAST_FEEDBACK": "false",  # (👍 / 👎 would put blocks back)
            **agent_env(lyzr, redis_url, port),
            "THREADCAST_LOCK_TTL": "3",
            "THREADCAST_RECOVERY_TTL": str(TTL),
            "THREADCAST_RECOVERY_INTERVAL": str(INTERVAL),
            "THREADCAST_SHUTDOWN_GRACE": "1",
            "THREADCAST_REDIS_NAMESPACE": namespace,
            **extra,
        }
        env.pop("SLACK_APP_TOKEN", None)
        log = tmp_path / f"{name}.log"
        with log.open("wb") as out:
            process = await forked.start(
                THREADCAST, "slack", env=env, stdout=out, stderr=asyncio.subprocess.STDOUT
            )
        replica = Replica(name, process, port, log)
        replicas.append(replica)
        await _healthy(replica)
        return replica

    try:
        yield start
    finally:
        for replica in replicas:
            if replica.process.returncode is None:
                replica.process.send_signal(signal.SIGTERM)
        for replica in replicas:
            try:
                await asyncio.wait_for(replica.process.wait(), 10)
            except TimeoutError:
                replica.kill()
                await replica.process.wait()


async def _healthy(replica: Replica) -> None:
    url = f"http://127.0.0.1:{replica.port}/healthz"
    if not await healthy(url, replica.process):
        pytest.fail(f"replica {replica.name} did not start:\n{replica.log.read_text()[-3000:]}")


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A Redis of the test's own, started, which it may stop (and start again)."""
    server = EmbeddedRedis(tmp_path / "redis")
    await server.start()
    yield server
    await server.stop()


async def killed_mid_stream(
    sim: SlackSimulator, lyzr: LyzrServer, replica: Replica, *, native: bool = False
) -> str:
    """Ask ``replica`` for a long reply, SIGKILL it once ten words show (``native``: in a
    stream that still streams); the reply's thread. The agent holds after 20 words until
    the kill: the reply used to run 15 s and end by itself, and a starved replica's edit
    showing "word10" (then the kill) could come after that end."""
    ws = sim.workspace
    script = reply_script(" ".join(f"word{i}" for i in range(300)), delay=0.05, hold_after=20)
    lyzr.enqueue(script)
    sim.events_url = replica.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "tell me a long story"))

    def streaming() -> bool:
        replies = sim.bot_replies(ws.general, turn.thread_ts)
        return (
            bool(replies) and "word10 " in replies[0].text and (replies[0].streaming or not native)
        )

    await sim.wait_for(streaming, timeout=20)
    replica.kill()
    await replica.process.wait()
    script.hold.set()  # the dead replica's stream may end
    return turn.thread_ts


async def test_sigkill_mid_reply_is_finalised_by_the_other_replica(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, start_replica: StartReplica
) -> None:
    a = await start_replica("a", redis_url)
    b = await start_replica("b", redis_url)
    ws = sim.workspace
    thread = await killed_mid_stream(sim, lyzr, a)
    (reply,) = sim.bot_replies(ws.general, thread)
    assert reply.blocks is not None  # still streaming: the Stop button is there

    await sim.wait_for(lambda: NOTICE_WORDS in reply.text, timeout=PATIENCE)
    assert reply.blocks is None  # final: no Stop button
    assert INDICATOR not in reply.text
    assert reply.text.startswith("word0 word1 word2")
    assert reply.text.endswith("\n\n" + ORPHAN_NOTICE)  # mrkdwn renders it unchanged
    # B dropped the record with the notice: no reaper can finalise the reply again.
    redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        await eventually(lambda: no_record_of(redis, thread), what="the record dropped")
    finally:
        await redis.aclose()
    notices = [c for c in sim.calls("chat.update") if NOTICE_WORDS in str(c.params)]
    assert len(notices) == 1
    assert len(sim.bot_replies(ws.general, thread)) == 1
    assert b.process.returncode is None


async def test_one_threads_turns_at_alternating_replicas_are_answered_once_in_order(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
    namespace: str,
) -> None:
    replicas = [await start_replica("a", redis_url), await start_replica("b", redis_url)]
    lyzr.default = LyzrScript(delay=0.3)  # echo, ~1 s per reply: the turns overlap
    ws = sim.workspace
    sim.events_url = replicas[0].events_url
    redis = aioredis.from_url(redis_url, decode_responses=True)
    first = await sim.user_says(ws.general, ws.alice, mention(sim, "turn-1"))
    thread = first.thread_ts
    conversation = f"{namespace}:{{slack:{ws.team_id}:{ws.general}:{thread}}}"
    try:
        for n in range(2, 7):
            # "In order" is the order turns reach the conversation's queue in Redis; events
            # sent to two replicas a few ms apart race to it (as Slack's own deliveries
            # would), so each turn is numbered by the gate before the next is sent.
            await eventually(partial(arrivals, redis, conversation, n - 1))
            sim.events_url = replicas[(n - 1) % 2].events_url
            await sim.user_says(ws.general, ws.alice, mention(sim, f"turn-{n}"), thread_ts=thread)

        def all_final() -> bool:
            replies = sim.bot_replies(ws.general, thread)
            return len(replies) >= 6 and all(r.blocks is None for r in replies)

        await sim.wait_for(all_final, timeout=PATIENCE)
        # Nothing holds or waits for the conversation's turn: no answer can still come.
        await eventually(lambda: idle(redis, conversation), what="the conversation idle")
    finally:
        await redis.aclose()
    texts = [r.text for r in sim.bot_replies(ws.general, thread)]
    assert texts == [f"You said: turn-{n}" for n in range(1, 7)]
    sent = [r.json["message"].split()[-1] for r in lyzr.stream_requests()]
    assert sent == [f"turn-{n}" for n in range(1, 7)]  # each turn reached the agent once


async def arrivals(redis: aioredis.Redis, conversation: str, count: int) -> bool:
    """Whether the gate numbered ``count`` turns of ``conversation`` (its ``order`` hash)."""
    return int(await redis.hget(f"{conversation}:order", "seq") or 0) >= count


async def idle(redis: aioredis.Redis, conversation: str) -> bool:
    return not await redis.exists(f"{conversation}:lock", f"{conversation}:queue")


async def no_record_of(redis: aioredis.Redis, thread: str) -> bool:
    """Whether no recovery record of Slack replies names ``thread``."""
    records = await redis.hvals("threadcast:{recovery:slack}:replies")
    return not any(thread in record for record in records)


async def test_redis_restart_mid_turn(
    sim: SlackSimulator, lyzr: LyzrServer, start_replica: StartReplica, own_redis: EmbeddedRedis
) -> None:
    url = own_redis.url
    a = await start_replica("a", url)
    ws = sim.workspace
    full = " ".join(f"w{i}" for i in range(40))
    # The agent holds after 20 words until Redis is back: the 2 s reply could otherwise end
    # before a starved replica's first post is seen, and the restart come after the turn.
    script = reply_script(full, delay=0.05, hold_after=20)
    lyzr.enqueue(script)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "a medium reply"))
    thread = turn.thread_ts
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, thread)))
    await own_redis.stop()
    await asyncio.sleep(0.5)  # how long Redis stays down (the outage, not a synchronisation)
    assert await own_redis.start() == url
    script.hold.set()

    def ended() -> bool:
        replies = sim.bot_replies(ws.general, thread)
        return bool(replies) and all(r.blocks is None for r in replies)

    await sim.wait_for(ended, timeout=30)
    (reply,) = sim.bot_replies(ws.general, thread)
    assert INDICATOR not in reply.text
    # Completed, or ended with a notice after the text it had shown, in order. A recovery
    # notice is fine too: under load the outage can outlast the replica's recovery TTL
    # (1.5 s), and its reaper then finishes the reply it presumes orphaned, as shown then
    # (at least the first post, "w0").
    body, notice, _ = reply.text.partition("\n\n⚠️")
    assert body.startswith("w0") and full.startswith(body), reply.text
    assert body == full or notice, reply.text

    nxt = await sim.user_says(ws.general, ws.alice, mention(sim, "after the restart"))
    await sim.wait_for(
        lambda: any(
            r.blocks is None and "after the restart" in r.text
            for r in sim.bot_replies(ws.general, nxt.thread_ts)
        ),
        timeout=20,
    )


async def _registered(redis_url: str, namespace: str, count: int) -> None:
    """Until ``count`` turns are registered for recovery (waiting on Redis's state)."""

    async def registered() -> bool:
        total = 0
        async for key in client.scan_iter(match=f"{namespace}:{{recovery:slack:*}}:replies"):
            total += await client.hlen(key)
        return total >= count

    async with aioredis.from_url(redis_url, decode_responses=True) as client:
        await eventually(registered, what=f"{count} turns registered")


async def test_sigkill_with_a_message_queued_behind_the_reply(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
    namespace: str,
) -> None:
    """The message waiting behind the streaming reply is not lost with its replica: the
    other replica tells its sender to send it again (it used to get nothing)."""
    a = await start_replica("a", redis_url)
    await start_replica("b", redis_url)
    ws = sim.workspace
    # The agent holds after 20 words until the kill: the reply used to run 15 s and end by
    # itself, while the test waits on a starved replica for "word5", then for the second
    # message's registration; the queued turn was then answered instead of lost.
    script = reply_script(" ".join(f"word{i}" for i in range(300)), delay=0.05, hold_after=20)
    lyzr.enqueue(script)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "a long story"))
    thread = turn.thread_ts
    await sim.wait_for(
        lambda: any("word5 " in r.text for r in sim.bot_replies(ws.general, thread)), timeout=20
    )
    await sim.user_says(ws.general, ws.alice, mention(sim, "and then?"), thread_ts=thread)
    await _registered(redis_url, namespace, 2)  # the streaming turn and the queued one
    a.kill()
    await a.process.wait()
    script.hold.set()  # the dead replica's stream may end

    def both_told() -> bool:
        texts = [r.text for r in sim.bot_replies(ws.general, thread)]
        return any(NOTICE_WORDS in t for t in texts) and any(UNANSWERED_WORDS in t for t in texts)

    await sim.wait_for(both_told, timeout=PATIENCE)
    replies = sim.bot_replies(ws.general, thread)
    assert replies[-1].text == UNANSWERED_NOTICE
    assert all(r.blocks is None and INDICATOR not in r.text for r in replies)


async def test_sigkill_before_the_first_post(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
    namespace: str,
) -> None:
    """Killed while the agent thinks: the thread is not left at "Thinking…" without an
    answer; the user is told to ask again."""
    a = await start_replica("a", redis_url)
    await start_replica("b", redis_url)
    ws = sim.workspace
    lyzr.enqueue(reply_script("too late", first_delay=60.0))
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "think hard"))
    thread = turn.thread_ts
    await sim.wait_for(lambda: sim.thread_status(ws.general, thread) is not None, timeout=20)
    await _registered(redis_url, namespace, 1)
    a.kill()
    await a.process.wait()
    await sim.wait_for(
        lambda: any(UNANSWERED_WORDS in r.text for r in sim.bot_replies(ws.general, thread)),
        timeout=PATIENCE,
    )
    assert sim.thread_status(ws.general, thread) is None
    assert [r.text for r in sim.bot_replies(ws.general, thread)] == [UNANSWERED_NOTICE]


async def test_a_native_stream_orphan_is_stopped_with_chat_stop_stream(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, start_replica: StartReplica
) -> None:
    """A native-mode orphan is ended the way Slack wants a stream ended, chat.stopStream,
    then given its notice; no chat.update is refused on the way."""
    native = {"SLACK_STREAMING": "native"}
    a = await start_replica("a", redis_url, **native)
    await start_replica("b", redis_url, **native)
    ws = sim.workspace
    thread = await killed_mid_stream(sim, lyzr, a, native=True)
    killed_at = len(sim.calls())
    (reply,) = sim.bot_replies(ws.general, thread)
    await sim.wait_for(lambda: NOTICE_WORDS in reply.text, timeout=PATIENCE)
    after = sim.calls()[killed_at:]
    assert [c.method for c in after if c.method == "chat.stopStream"]
    assert not [c for c in after if c.method == "chat.update" and not c.ok]
    assert not reply.streaming and reply.text.startswith("word0 word1")
    # Read first: unmarked, so cut off (see adapters/slack/final_mark.py).
    assert [c for c in after if c.method == "conversations.replies"
            and c.params.get("include_all_metadata") in (True, "1")]  # fmt: skip


async def test_a_native_stream_cut_off_and_expired_before_the_reaper_came_gets_its_notice(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, start_replica: StartReplica
) -> None:
    """The only replica died mid-stream and the next one starts after Slack ended the
    stream (idle, then past its lifetime): the stream no longer streams and a stop answers
    ``message_not_in_streaming_state``, yet it is no sign the reply ended. The message lacks
    the writer's final mark, so it is finished with the notice (and marked, so a reaper
    that meets its record again leaves it alone)."""
    native = {"SLACK_STREAMING": "native"}
    a = await start_replica("a", redis_url, **native)
    ws = sim.workspace
    thread = await killed_mid_stream(sim, lyzr, a, native=True)
    loop = asyncio.get_running_loop()
    sim.clock = lambda: loop.time() + 2 * sim.config.stream_max_lifetime  # minutes later
    (reply,) = sim.bot_replies(ws.general, thread)
    assert NOTICE_WORDS not in reply.text
    killed_at = len(sim.calls())
    await start_replica("b", redis_url, **native)
    await sim.wait_for(lambda: NOTICE_WORDS in reply.text, timeout=PATIENCE)
    after = sim.calls()[killed_at:]
    assert [c for c in after if c.method == "conversations.replies"
            and c.params.get("include_all_metadata") in (True, "1")]  # fmt: skip
    stops = [c.error for c in after if c.method == "chat.stopStream"]
    assert stops == ["message_not_in_streaming_state"]
    (update,) = [c for c in after if c.method == "chat.update"]
    assert update.params["metadata"]["event_type"] == EVENT_TYPE
    assert reply.text.startswith("word0 word1")
