"""A replica SIGKILLed between a post landing on the platform and its answer: the message
is in the thread, with its streaming indicator and Stop button, and its id was never
learnt (so no recovery record could name it). Another replica finds it and finalises it
like any orphan page: no indicator, no Stop button, the "cut off" notice.

The simulators' ``after_call`` hooks kill the bot's process once the platform has applied
the reply's post and before the post is answered. Real ``threadcast slack`` / ``threadcast
discord`` processes, one Redis, the scripted Lyzr server; recovery timing is shortened
through the environment (as in ``test_recovery_e2e``).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AsyncExitStack
from typing import Any

import pytest
import redis.asyncio as aioredis

from adapters.discord.stop_button import STOP_CUSTOM_ID
from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.discord import Call, DiscordSimulator, SimMessage
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import AnswerLost
from core.redis import text
from core.texts import ORPHAN_NOTICE, UNANSWERED_NOTICE
from tests.bots.slack.conftest import mention, reply_script
from tests.deploy.platforms import discord_env
from tests.ops.test_recovery_e2e import (
    INDICATOR,
    INTERVAL,
    NOTICE_WORDS,
    TTL,
    UNANSWERED_WORDS,
    Replica,
    StartReplica,
    sim,
    start_replica,
)
from tests.ops.test_shutdown import _bot_env, bot_process
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import PATIENCE, eventually

__all__ = ["sim", "start_replica"]

MESSAGES = "/channels/{channel_id}/messages"


class Killer:
    """A simulator's ``after_call`` hook that SIGKILLs a replica at the call it matches."""

    def __init__(
        self,
        process: asyncio.subprocess.Process,
        *,
        first: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.process = process
        self._first = first  # a state to wait for before the kill (the call stays unanswered)
        self._killed = asyncio.Event()

    async def hook(self, _: object) -> None:
        if self._first is not None:
            await self._first()
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self._killed.set()

    async def wait(self) -> None:
        """Until the replica is dead (it has applied the call, not read its answer)."""
        await asyncio.wait_for(self._killed.wait(), PATIENCE)


async def _finalised(sim: SlackSimulator, done: Callable[[], bool], *replicas: Replica) -> None:
    """Wait until ``done()``; failing, show what the replicas logged (each one's last lines):
    which of them knew the reply, claimed it, looked for its message."""
    try:
        await sim.wait_for(done, timeout=PATIENCE)
    except TimeoutError:
        logs = "\n".join(f"--- {r.name}:\n{r.log.read_text()[-4000:]}" for r in replicas)
        pytest.fail(f"not finalised within {PATIENCE:g}s\n{logs}")


def _slack_reply_post(later_page: bool) -> Callable[[Mapping[str, Any]], bool]:
    """chat.postMessage of a streaming reply (it carries the Stop button): the first page,
    or a later one (its text does not start the reply)."""

    def match(params: Mapping[str, Any]) -> bool:
        if STOP_ACTION_ID not in str(params.get("blocks")):
            return False
        return later_page != str(params.get("text", "")).startswith("word0 ")

    return match


@pytest.mark.parametrize("later_page", [False, True], ids=["first-page", "later-page"])
async def test_slack_sigkill_between_the_post_and_its_answer(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
    later_page: bool,
) -> None:
    a = await start_replica("a", redis_url)
    await start_replica("b", redis_url)
    ws = sim.workspace
    # ~5,600 characters: a second page past the 4,000 of one Slack message. The agent holds
    # its last 50 words until the kill, so the page killed on is posted while streaming (a
    # starved replica once posted it only after the stream had ended, without Stop).
    script = reply_script(" ".join(f"word{i}" for i in range(700)), delay=0.01, hold_after=650)
    lyzr.enqueue(script)
    killer = Killer(a.process)

    sim.after_call("chat.postMessage", killer.hook, match=_slack_reply_post(later_page))
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "a long story"))
    thread = turn.thread_ts
    await killer.wait()
    script.hold.set()  # the dead replica's stream may end
    replies = sim.bot_replies(ws.general, thread)
    assert replies and replies[-1].blocks is not None  # left streaming, Stop button and all
    assert replies[-1].text.endswith(INDICATOR)
    assert len(replies) == (2 if later_page else 1)

    def finalised() -> bool:
        return NOTICE_WORDS in sim.bot_replies(ws.general, thread)[-1].text

    await sim.wait_for(finalised, timeout=PATIENCE)
    replies = sim.bot_replies(ws.general, thread)
    assert len(replies) == (2 if later_page else 1)  # no "ask again" notice after them
    assert all(r.blocks is None and INDICATOR not in r.text for r in replies)
    assert replies[0].text.startswith("word0")
    assert replies[-1].text.endswith("\n\n" + ORPHAN_NOTICE)
    assert all(UNANSWERED_NOTICE not in r.text for r in replies)
    if later_page:
        assert NOTICE_WORDS not in replies[0].text
        assert not replies[1].text.startswith("word0 ")


async def _discord_replica(
    stack: AsyncExitStack, sim: DiscordSimulator, lyzr: LyzrServer, redis_url: str,
    namespace: str,
) -> asyncio.subprocess.Process:  # fmt: skip
    port = free_port()
    env = {
        **_bot_env(port, redis_url, lyzr),
        **discord_env(sim),
        "THREADCAST_LOCK_TTL": "3",
        "THREADCAST_RECOVERY_TTL": str(TTL),
        "THREADCAST_RECOVERY_INTERVAL": str(INTERVAL),
        "THREADCAST_REDIS_NAMESPACE": namespace,
        "THREADCAST_FEEDBACK": "false",
    }
    return await stack.enter_async_context(bot_process("discord", env, port))


def _retried_blind(
    sim: SlackSimulator, *, then: Callable[[object], Awaitable[None]] | None = None
) -> None:
    """The reply's first post lands but its answer is lost, and every thread lookup gets a
    429: the bot retries the post blind (``then`` runs once that retry has landed)."""

    async def lose(_: object) -> None:
        if then is not None:
            sim.after_call("chat.postMessage", then, match=_slack_reply_post(False))
        raise AnswerLost

    sim.after_call("chat.postMessage", lose, match=_slack_reply_post(False))
    sim.fail_next("conversations.replies", "ratelimited", status=429, retry_after=60,
                  times=1_000_000)  # fmt: skip


def _discord_reply_post(later_page: bool) -> Callable[[Call], bool]:
    """A create-message of a streaming reply (it carries the Stop button)."""

    def match(call: Call) -> bool:
        body = call.json if isinstance(call.json, dict) else {}
        if STOP_CUSTOM_ID not in str(body.get("components")):
            return False
        return later_page != str(body.get("content", "")).startswith("word0-")

    return match


def _open(message: SimMessage) -> bool:
    return bool(message.components) or message.content.endswith(INDICATOR)


@pytest.mark.parametrize("later_page", [False, True], ids=["first-page", "later-page"])
async def test_discord_sigkill_between_the_post_and_its_answer(
    lyzr: LyzrServer, redis_url: str, namespace: str, later_page: bool
) -> None:
    """The replica is killed; a new one (a restart) finds the message and finalises it."""
    async with DiscordSimulator() as sim, AsyncExitStack() as stack:
        a = await _discord_replica(stack, sim, lyzr, redis_url, namespace)
        await sim.wait_for_session(within=30)
        killer = Killer(a)

        sim.after_call("POST", MESSAGES, killer.hook, match=_discord_reply_post(later_page))
        # 3,000 characters, slowly enough (Discord: one edit a second) that the second
        # page (past the 2,000 of one message) starts while the reply still streams.
        # The agent holds its last 10 words (past 2,000 characters) until the kill, so that
        # page is posted while streaming however starved the replica is.
        words = " ".join(f"word{i}-{'x' * 12}" for i in range(150))
        script = LyzrScript(tokens=split_words(words), delay=0.05, hold_after=140)
        lyzr.enqueue(script)
        start = await sim.user_message(sim.channel("general").id, "go on", mention_bot=True)
        await killer.wait()
        script.hold.set()
        replies = sim.posts(start.id)  # the thread opened on the mention
        assert len(replies) == (2 if later_page else 1)
        assert _open(replies[-1])

        await _discord_replica(stack, sim, lyzr, redis_url, namespace)

        def finalised() -> bool:
            return NOTICE_WORDS in sim.channel_messages(start.id)[-1].content

        await sim.wait_until(finalised, within=PATIENCE)
        replies = sim.posts(start.id)
        assert len(replies) == (2 if later_page else 1)
        assert not any(_open(r) for r in replies)
        assert replies[0].content.startswith("word0")
        assert replies[-1].content.endswith(ORPHAN_NOTICE)
        assert all(UNANSWERED_NOTICE not in r.content for r in replies)
        if later_page:
            assert NOTICE_WORDS not in replies[0].content


async def test_slack_sigkill_while_the_thinking_placeholder_shows(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
) -> None:
    """Where Slack refuses a thread status, "Thinking…" is a message with a Stop button of
    its own. Killed once it landed, before any text: another replica turns that message
    into the "send it again" notice (no button left, no second message)."""
    a = await start_replica("a", redis_url, SLACK_THINKING="placeholder")
    b = await start_replica("b", redis_url, SLACK_THINKING="placeholder")
    lyzr.enqueue(reply_script("never shown", delay=0.01))

    # No wait for the record before the kill: the placeholder goes out only once the
    # turn's record has landed (under load it used to land after it; a slow Redis at that
    # moment is test_recovery_first_post's case).
    await placeholder_killed_becomes_the_notice(sim, Killer(a.process), a, b)


async def placeholder_killed_becomes_the_notice(
    sim: SlackSimulator, killer: Killer, a: Replica, b: Replica
) -> None:
    """A mention to ``a`` (``SLACK_THINKING=placeholder``), killed by ``killer`` once its
    "Thinking…" message with a Stop button landed; ``b`` turns that message into the
    "send it again" notice (no button left, no second message)."""
    ws = sim.workspace

    def placeholder(params: Mapping[str, Any]) -> bool:
        return STOP_ACTION_ID in str(params.get("blocks")) and "Thinking" in str(params.get("text"))

    sim.after_call("chat.postMessage", killer.hook, match=placeholder)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "hello"))
    thread = turn.thread_ts
    await killer.wait()
    replies = sim.bot_replies(ws.general, thread)
    assert len(replies) == 1 and replies[0].blocks is not None  # "Thinking…", Stop button

    def finalised() -> bool:
        return UNANSWERED_WORDS in sim.bot_replies(ws.general, thread)[-1].text

    await _finalised(sim, finalised, a, b)
    replies = sim.bot_replies(ws.general, thread)
    assert len(replies) == 1  # the placeholder became the notice
    assert replies[0].blocks is None
    assert replies[0].text == UNANSWERED_NOTICE


async def test_slack_sigkill_between_a_native_stream_start_and_its_answer(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
) -> None:
    """SLACK_STREAMING=native: chat.startStream landed, the replica died before its answer.
    The stream shows neither the indicator nor a Stop button (Slack draws its own), so only
    the text written ahead identifies it: another replica finds it, stops it with
    chat.stopStream and gives it the "cut off" notice (no second message, none left
    streaming)."""
    native = {"SLACK_STREAMING": "native"}
    a = await start_replica("a", redis_url, **native)
    b = await start_replica("b", redis_url, **native)
    ws = sim.workspace
    # The agent holds after 100 words until the kill: the whole stream took 3 s, and a
    # starved replica could reach its first post only after the end (then not a stream).
    script = reply_script(" ".join(f"word{i}" for i in range(300)), delay=0.01, hold_after=100)
    lyzr.enqueue(script)
    killer = Killer(a.process)

    sim.after_call("chat.startStream", killer.hook)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "stream it"))
    thread = turn.thread_ts
    await killer.wait()
    script.hold.set()  # the dead replica's stream may end
    killed_at = len(sim.calls())
    (reply,) = sim.bot_replies(ws.general, thread)
    assert reply.streaming  # left streaming: its answer (the ts) never reached the bot

    await _finalised(sim, lambda: NOTICE_WORDS in reply.text, a, b)
    after = sim.calls()[killed_at:]
    assert [c for c in after if c.method == "chat.stopStream" and c.params.get("ts") == reply.ts]
    assert not reply.streaming
    assert [r.ts for r in sim.bot_replies(ws.general, thread)] == [reply.ts]
    assert reply.text.startswith("word0") and reply.text.endswith(ORPHAN_NOTICE)
    assert UNANSWERED_NOTICE not in reply.text


@pytest.mark.parametrize("known", [False, True], ids=["answer-lost", "page-known"])
async def test_discord_sigkill_between_a_detoured_post_and_its_answer(
    lyzr: LyzrServer, redis_url: str, namespace: str, known: bool
) -> None:
    """The thread refuses the bot's posts, so the reply is detoured to the parent channel;
    the replica dies once that post landed and before its answer (``answer-lost``), or
    later, at its first edit (``page-known``: the record names the message). The restarted
    replica (which never knew of the detour) finds the message in the parent channel and
    finalises it there."""
    async with DiscordSimulator() as sim, AsyncExitStack() as stack:
        general = sim.channel("general").id
        sim.deny(general, "SEND_MESSAGES_IN_THREADS")
        a = await _discord_replica(stack, sim, lyzr, redis_url, namespace)
        await sim.wait_for_session(within=30)
        killer = Killer(a)

        if known:
            sim.after_call("PATCH", MESSAGES + "/{message_id}", killer.hook)
        else:
            sim.after_call("POST", MESSAGES, killer.hook, match=_discord_reply_post(False))
        # The agent holds after 40 words until the kill: the whole stream took 3 s, and a
        # starved replica's first post or first edit (paced 1 s) could come after its end,
        # a final message without the Stop button.
        words = " ".join(f"word{i}-{'x' * 12}" for i in range(60))
        script = LyzrScript(tokens=split_words(words), delay=0.05, hold_after=40)
        lyzr.enqueue(script)
        start = await sim.user_message(general, "go on", mention_bot=True)
        await killer.wait()
        script.hold.set()  # the dead replica's stream may end
        assert not [m for m in sim.channel_messages(start.id) if m.author.id == sim.bot.id]

        def reply() -> SimMessage:
            (found,) = [m for m in sim.channel_messages(general)
                        if m.author.id == sim.bot.id and m.content.startswith("word0")]  # fmt: skip
            return found

        assert _open(reply())  # detoured, left streaming
        await _discord_replica(stack, sim, lyzr, redis_url, namespace)
        await sim.wait_until(lambda: NOTICE_WORDS in reply().content, within=PATIENCE)
        assert not _open(reply())
        assert reply().content.endswith(ORPHAN_NOTICE)
        bot_posts = [m for m in sim.channel_messages(general) if m.author.id == sim.bot.id]
        assert all(UNANSWERED_NOTICE not in m.content for m in bot_posts)


async def test_slack_sigkill_while_a_stray_copy_waits_for_its_sweep(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    redis_client: aioredis.Redis,
    namespace: str,
    start_replica: StartReplica,
) -> None:
    """The reply's first post landed and its answer was lost; the lookup before the retry
    failed (a 429: Tier 3 allows 1 a minute), so the retry posted blind and the first copy
    is a stray with the indicator and the Stop button. Its sweep keeps meeting 429s, and the
    replica is SIGKILLed after the reply ended, before any sweep found the stray. The
    restarted replica finalises the stray: nothing left open, and the one complete reply
    has no notice (the sweep was a Redis record, not the dead process's task)."""
    a = await start_replica("a", redis_url)
    ws = sim.workspace
    words = " ".join(f"word{i}" for i in range(40))
    lyzr.enqueue(reply_script(words, delay=0.01))

    _retried_blind(sim)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "go"))
    thread = turn.thread_ts

    def ended() -> bool:
        replies = sim.bot_replies(ws.general, thread)
        return len(replies) == 2 and replies[-1].text == words and replies[-1].blocks is None

    await sim.wait_for(ended, timeout=PATIENCE)

    async def turn_record_gone() -> bool:  # only the stray's record may be left
        async for key in redis_client.scan_iter(match=f"{namespace}:*:replies"):
            if any(not text(i).startswith("stray-") for i in await redis_client.hkeys(key)):
                return False
        return True

    await eventually(turn_record_gone)
    stray, kept = sim.bot_replies(ws.general, thread)
    assert stray.blocks is not None and stray.text.endswith(INDICATOR)  # still open
    a.process.send_signal(signal.SIGKILL)
    await a.process.wait()
    sim.clear_faults()  # conversations.replies answers again

    await start_replica("b", redis_url)

    def swept() -> bool:
        return stray.blocks is None and INDICATOR not in stray.text

    await sim.wait_for(swept, timeout=PATIENCE)
    assert [r.ts for r in sim.bot_replies(ws.general, thread)] == [stray.ts, kept.ts]
    assert stray.text and words.startswith(stray.text)  # what it showed, for good
    assert kept.text == words and kept.blocks is None  # the one complete reply, no notice


async def test_slack_sigkill_after_a_blind_retry_landed_before_its_answer(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    redis_url: str,
    start_replica: StartReplica,
) -> None:
    """The reply's first post landed and its answer was lost; the lookup before the retry
    failed (a 429), so the retry posted blind — and the replica was SIGKILLed once Slack
    had applied that retry, before its answer. Two copies are open and the dead replica
    knew neither. The stray's record was written before the retry: the restarted replica
    finalises both copies (one as the orphan's page, with the notice). The record used to
    be written only after the retry's answer, and one copy stayed open for ever."""
    a = await start_replica("a", redis_url)
    ws = sim.workspace
    words = " ".join(f"word{i}" for i in range(40))
    # The agent holds after 20 words until the kill: the blind retry must go out while the
    # reply streams (under load it once came after the stream's end, a final post the
    # killer does not match).
    script = reply_script(words, delay=0.05, hold_after=20)
    lyzr.enqueue(script)
    killer = Killer(a.process)

    _retried_blind(sim, then=killer.hook)
    sim.events_url = a.events_url
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "go"))
    thread = turn.thread_ts
    await killer.wait()
    script.hold.set()
    copies = sim.bot_replies(ws.general, thread)
    assert len(copies) == 2
    assert all(c.blocks is not None and c.text.endswith(INDICATOR) for c in copies)  # open
    sim.clear_faults()  # conversations.replies answers again

    await start_replica("b", redis_url)

    def closed() -> bool:
        return all(c.blocks is None and INDICATOR not in c.text for c in copies)

    await sim.wait_for(closed, timeout=PATIENCE)
    assert [r.ts for r in sim.bot_replies(ws.general, thread)] == [c.ts for c in copies]
    assert sum(c.text.endswith(ORPHAN_NOTICE) for c in copies) == 1
