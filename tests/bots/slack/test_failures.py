"""Slack refusing the bot mid-reply, as it does in the wild: the channel archived, the bot
removed or the channel deleted; the token revoked; blocks refused; its own errors (5xx,
``internal_error``, ``request_timeout``) and chat.postMessage's ``rate_limited``.

A permanent refusal is not retried for the rest of the reply (a handful of calls at most),
the agent is stopped, and the next conversation is unaffected; a revoked token turns
``/readyz`` 503 naming ``SLACK_BOT_TOKEN``, with one clear log line and no retry storm.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import pytest

from adapters.slack.mrkdwn import to_mrkdwn
from bots.simulators.slack import CallRecord, SlackSimulator
from bots.simulators.slack.model import ChannelKind
from bots.slack.app import SlackService
from tests.bots.slack.conftest import StartBot, ask, mention, reply_script, reply_shown
from tests.servers.lyzr_server import LyzrScript, LyzrServer

LONG = "word " * 300


async def get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.text()


def calls_since(sim: SlackSimulator, start: float) -> int:
    return len(
        [c for c in sim.calls() if c.time >= start and c.method.startswith(("chat.", "files."))]
    )


async def mid_reply(sim: SlackSimulator, channel: str) -> None:
    """Alice mentions the bot in ``channel``; returns once its reply shows three words (the
    agent still streaming the rest)."""
    turn = await sim.user_says(channel, sim.workspace.alice, mention(sim, "talk"))
    live = await reply_shown(sim, channel, turn.thread_ts)
    await sim.wait_for(lambda: live.text.count("word") >= 3)


def _doomed(words: int) -> LyzrScript:
    """``words`` words, held after the fifth until the test sets ``hold``, and before the
    last until the server stops (the bot must stop the reply: it never completes)."""
    return reply_script(
        "word " * words, delay=1.5 / words, hold_after=5, holds={words - 1: asyncio.Event()}
    )


PLACE_CHANGES: dict[str, Callable[[SlackSimulator, str], None]] = {
    "archived": lambda sim, channel: sim.archive_channel(channel),
    "bot removed": lambda sim, channel: sim.remove_bot(channel),
    "deleted": lambda sim, channel: sim.delete_channel(channel),
}


@pytest.mark.parametrize(
    ("change", "kind", "words"),
    [
        ("archived", "public", 300),  # updates: is_inactive
        ("deleted", "public", 300),  # channel_not_found
        ("bot removed", "private", 300),  # it cannot see the channel: channel_not_found
        ("bot removed", "public", 1200),  # its edits still go; the next page: not_in_channel
    ],
)
async def test_a_channel_gone_mid_reply_ends_it_without_retries(
    change: str,
    kind: ChannelKind,
    words: int,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = sim.workspace
    channel = sim.add_channel(ws.team_id, "doomed", kind).id
    # The agent holds the rest of its reply until the channel changed, and its last word
    # for good: however slow the machine, the change lands mid-reply (not after the last
    # page had gone out), and the reply is still streaming when Slack refuses it.
    doomed = _doomed(words)
    lyzr.enqueue(doomed, reply_script("Fine here."))
    bot = await start_bot()
    await mid_reply(sim, channel)
    PLACE_CHANGES[change](sim, channel)
    doomed.hold.set()
    await sim.wait_for(lambda: any(not c.ok for c in sim.calls()))
    refusal = next(c for c in sim.calls() if not c.ok)
    await sim.wait_for(lambda: not bot.bot.tasks)

    await _ended_without_retries(sim, lyzr, bot, refusal, caplog)


@pytest.mark.parametrize(
    ("restriction", "error"),
    [
        ({"read_only": True}, "restricted_action_read_only_channel"),
        ({"threadable": False}, "restricted_action_non_threadable_channel"),
        ({"lock_thread": "the thread"}, "restricted_action_thread_locked"),
    ],
)
async def test_an_admin_restriction_mid_reply_ends_it_without_retries(
    restriction: dict[str, Any],
    error: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An admin makes the channel read-only, turns its threads off, or locks the thread
    while the bot replies (chat.postMessage's documented ``restricted_action_*`` errors):
    its edits still go, the next page is refused, and the reply and its agent stop there."""
    ws = sim.workspace
    channel = sim.add_channel(ws.team_id, "restricted", "public").id
    doomed = _doomed(1200)
    lyzr.enqueue(doomed, reply_script("Fine here."))
    bot = await start_bot()
    turn = await sim.user_says(channel, ws.alice, mention(sim, "talk"))
    live = await reply_shown(sim, channel, turn.thread_ts)
    await sim.wait_for(lambda: live.text.count("word") >= 3)
    if restriction.get("lock_thread"):
        restriction = {"lock_thread": turn.thread_ts}
    sim.restrict_channel(channel, **restriction)
    doomed.hold.set()
    await sim.wait_for(lambda: any(not c.ok for c in sim.calls()))
    refusal = next(c for c in sim.calls() if not c.ok)
    assert refusal.error == error
    await sim.wait_for(lambda: not bot.bot.tasks)

    await _ended_without_retries(sim, lyzr, bot, refusal, caplog)


@pytest.mark.parametrize("error", ["token_revoked", "invalid_auth", "account_inactive"])
async def test_a_revoked_token_turns_readyz_503_with_one_log_line_and_no_storm(
    error: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ws = sim.workspace
    # The last word is held: the reply (9 s) must still stream when the token is revoked.
    lyzr.enqueue(reply_script(LONG, delay=0.03, hold_after=299))
    bot = await start_bot()
    assert (await get(bot.url + "/readyz"))[0] == 200
    await mid_reply(sim, ws.general)
    sim.revoke_token(error=error)
    await sim.wait_for(lambda: any(c.error == error for c in sim.calls()))  # the next call
    first_refusal = next(c.time for c in sim.calls() if c.error == error)
    await sim.wait_for(lambda: not bot.bot.tasks)
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)

    status, body = await get(bot.url + "/readyz")
    assert status == 503 and "SLACK_BOT_TOKEN" in body and error in body
    assert (await get(bot.url + "/healthz"))[0] == 200  # alive: no crash loop
    # A mention now costs nothing: no agent run, no call that cannot succeed.
    await sim.user_says(ws.general, ws.alice, mention(sim, "hello?"))
    await sim.user_says(ws.alice_dm, ws.alice, "anyone?")
    status, _ = await get(bot.url + "/readyz")  # (the events were handled meanwhile)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert calls_since(sim, first_refusal) <= 3
    assert len(lyzr.stream_requests()) == 1
    token_lines = [r for r in caplog.records if "SLACK_BOT_TOKEN" in r.getMessage()]
    assert len(token_lines) == 1 and token_lines[0].levelno == logging.ERROR


async def test_refused_blocks_fall_back_to_plain_text(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    text = "A reply shown without its Stop button, as plain text, edited as it grows on."
    lyzr.enqueue(reply_script(text, delay=0.15))
    bot = await start_bot()

    def with_blocks(params: Mapping[str, Any]) -> bool:
        blocks = params.get("blocks")
        return bool(json.loads(blocks) if isinstance(blocks, str) else blocks)

    sim.fail_next("*", "invalid_blocks", times=100, match=with_blocks)
    turn = await ask(sim, bot, "plain please")
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == to_mrkdwn(text)
    refused = [c for c in sim.calls() if c.error == "invalid_blocks"]
    assert len(refused) == 1  # refused once; the rest of the reply sends text only


async def test_post_message_rate_limited_is_a_rate_limit(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.enqueue(reply_script("Posted after the limit lifted."))
    bot = await start_bot()
    sim.fail_next("chat.postMessage", "rate_limited", times=2)  # HTTP 200, no Retry-After
    turn = await ask(sim, bot, "post")
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == "Posted after the limit lifted."
    posts = sim.calls("chat.postMessage")
    assert [c.error for c in posts] == ["rate_limited", "rate_limited", None]
    assert posts[2].time - posts[1].time >= 0.95  # waited like a 429's default Retry-After
    bucket = bot.bot.runtime.scheduler.bucket(f"slack:{ws.team_id}:{ws.general}:chat.postMessage")
    assert bucket is not None and bucket.rate < bucket.ceiling  # the budget adapted


@pytest.mark.parametrize(
    ("error", "status", "html"),
    [
        ("internal_error", 500, False),
        ("service_unavailable", 503, False),
        ("bad_gateway", 502, True),
        ("request_timeout", 200, False),
        ("fatal_error", 200, False),
    ],
)
async def test_slacks_own_failures_are_retried_and_streams_start_anyway(
    error: str, status: int, html: bool, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    text = "Streamed despite a hiccup, which lasted only a moment or two."
    # Held after three words until the retried start has landed: still streaming when the
    # retry comes (the 2.4 s reply could end before it on a loaded machine).
    script = reply_script(text, delay=0.2, hold_after=3)
    lyzr.enqueue(script)
    bot = await start_bot(streaming="native")
    sim.fail_next("chat.startStream", error, status=status, html=html)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "hiccup"))
    await sim.wait_for(lambda: any(c.ok for c in sim.calls("chat.startStream")))
    script.hold.set()
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    await sim.wait_for(lambda: not bot.bot.tasks)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == text
    assert [c.ok for c in sim.calls("chat.startStream")] == [False, True]  # retried, streamed
    assert sim.calls("chat.postMessage") == []


async def test_msg_too_long_cuts_smaller_pages_and_loses_nothing(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    text = " ".join(f"w{i:04d}" for i in range(600))  # 3,599 characters
    lyzr.enqueue(reply_script(text, delay=0.005))
    bot = await start_bot()

    def long(params: Mapping[str, Any]) -> bool:  # Slack counting more than the bot does
        return len(str(params.get("text") or "")) > 2000

    sim.fail_next("*", "msg_too_long", times=1000, match=long)
    turn = await ask(sim, bot, "long")
    messages = sim.bot_replies(ws.general, turn.thread_ts)
    assert " ".join(m.text for m in messages).split() == text.split()
    assert all(len(m.text) <= 2000 for m in messages)
    assert len([c for c in sim.calls() if c.error == "msg_too_long"]) <= 6


@pytest.mark.parametrize("streaming", ["edit", "native"])
async def test_a_question_deleted_before_the_reply_ends_it_without_retries(
    streaming: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Alice deletes her question while the agent thinks: the thread is gone, so every post
    into it answers ``thread_not_found`` (slackapi/bolt-js#2307). Nobody is left to read a
    reply: the bot stops it and its agent, as for a channel gone, without a retry storm."""
    ws = sim.workspace
    # Held before its first word until the question is gone, then after its third until the
    # bot hangs up (never released by the test): the reply is mid-way when it is refused.
    held = reply_script("word " * 50, hold_after=0, holds={3: asyncio.Event()})
    lyzr.enqueue(held, reply_script("Fine here."))
    bot = await start_bot(streaming=streaming)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    await sim.wait_for(lambda: len(lyzr.stream_requests()) == 1)  # the agent is thinking
    await sim.user_deletes(turn.message)
    held.hold.set()
    await sim.wait_for(lambda: any(c.error == "thread_not_found" for c in sim.calls()))
    refusal = next(c for c in sim.calls() if c.error == "thread_not_found")
    await sim.wait_for(lambda: not bot.bot.tasks)

    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
    assert calls_since(sim, refusal.time) <= 3  # the refusal, and a handful at most
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("thread_not_found" in line and "stopping the reply" in line for line in said)
    assert not [r for r in caplog.records if r.exc_info]  # nothing crashed
    other = await sim.user_says(ws.general, ws.bob, mention(sim, "still there?"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, other.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.bot_replies(ws.general, other.thread_ts)[0].text == "Fine here."


async def test_a_reply_deleted_mid_stream_is_posted_again_whole(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Someone deletes the bot's reply while it streams: its next edit answers
    ``message_not_found``, and the reply goes on in a new message that holds all of it."""
    ws = sim.workspace
    text = "word " * 40
    held = reply_script(text, hold_after=10)
    lyzr.enqueue(held)
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    live = await reply_shown(sim, ws.general, turn.thread_ts)
    await sim.wait_for(lambda: live.text.count("word") >= 3)
    await sim.user_deletes(live)
    held.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.ts != live.ts and reply.text.strip() == text.strip()
    assert any(c.error == "message_not_found" for c in sim.calls("chat.update"))


async def _ended_without_retries(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    bot: SlackService,
    refusal: CallRecord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After Slack's ``refusal`` of a place mid-reply: the agent was stopped, a handful of
    calls at most followed, one warning line said why, nothing crashed, and the next
    conversation, elsewhere, is answered (its script: "Fine here.")."""
    ws = sim.workspace
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)
    assert calls_since(sim, refusal.time) <= 3
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any(str(refusal.error) in line and "stopping the reply" in line for line in said)
    assert not [r for r in caplog.records if r.exc_info]
    other = await sim.user_says(ws.general, ws.bob, mention(sim, "still there?"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, other.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.bot_replies(ws.general, other.thread_ts)[0].text == "Fine here."
