"""A chat.postMessage applied by Slack whose answer never came (the connection broke
after the call, or it timed out) is retried by the relay's retry policy. Slack has no
idempotency key: before the retry the bot looks for the earlier try in the thread and
adopts it (``adapters.slack.unsure_posts``); when that lookup fails, the retry posts
anyway (a duplicate is better than a loss) and the earlier copy is finalised, so no message
keeps the indicator or the Stop button. Real bolt + slack-sdk bot, real Redis, the
simulator over loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import pytest

from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import AnswerLost, CallRecord
from tests.bots.slack.conftest import StartBot, ask, reply_script
from tests.servers.lyzr_server import LyzrScript, LyzrServer

INDICATOR = "▍"
WORDS = " ".join(f"word{i}" for i in range(40))


def _held_reply() -> LyzrScript:
    """The agent's reply, held after 20 words until the hook that loses the first post's
    answer has run: the whole reply took 0.4 s, and a first post (or stream start) after
    its end is a final one, without the Stop button the hooks match."""
    return reply_script(WORDS, delay=0.01, hold_after=20)


def _reply_post(params: Mapping[str, Any]) -> bool:
    """chat.postMessage of a streaming reply (it carries the Stop button)."""
    return STOP_ACTION_ID in str(params.get("blocks"))


async def _lose_first_answer(sim: SlackSimulator, script: LyzrScript) -> list[CallRecord]:
    lost: list[CallRecord] = []

    async def lose(call: CallRecord) -> None:
        lost.append(call)
        script.hold.set()
        raise AnswerLost

    sim.after_call("chat.postMessage", lose, match=_reply_post)
    return lost


def _open(text: str, blocks: Any) -> bool:
    return INDICATOR in text or STOP_ACTION_ID in str(blocks)


@pytest.mark.parametrize("how", ["disconnect", "timeout"])
async def test_a_post_whose_answer_was_lost_is_adopted_not_posted_twice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, how: str
) -> None:
    """``disconnect``: the connection breaks after the post; ``timeout``: its answer is held
    until the bot's call timed out (SLACK_API_TIMEOUT, short here)."""
    bot = await start_bot(render="mrkdwn", core={"feedback": False}, api_timeout=0.5)
    release = asyncio.Event()
    script = _held_reply()
    if how == "disconnect":
        lost = await _lose_first_answer(sim, script)
    else:
        lost = []

        async def hold(call: CallRecord) -> None:
            lost.append(call)
            script.hold.set()
            await release.wait()  # answered once the test is over: to a client long gone

        sim.after_call("chat.postMessage", hold, match=_reply_post)
    lyzr.enqueue(script)
    try:
        turn = await ask(sim, bot, "go")
    finally:
        release.set()
    ws = sim.workspace

    assert lost  # the first post was applied and its answer lost
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)  # one message, not two
    assert reply.text == WORDS and not _open(reply.text, reply.blocks)
    assert sim.calls("conversations.replies")  # it was looked for, and adopted


async def test_a_blind_retry_finalises_the_stray_copy(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The lookup itself fails (a 429: conversations.replies allows 1 a minute to a
    non-Marketplace app): the retry posts anyway, and the earlier copy, which landed, is
    finalised by the sweep: a duplicate, but nothing left streaming."""
    bot = await start_bot(render="mrkdwn", core={"feedback": False})
    script = _held_reply()
    lost = await _lose_first_answer(sim, script)
    sim.fail_next("conversations.replies", "ratelimited", status=429, retry_after=60)
    lyzr.enqueue(script)
    turn = await ask(sim, bot, "go")
    ws = sim.workspace
    assert lost

    def settled() -> bool:
        replies = sim.bot_replies(ws.general, turn.thread_ts)
        return len(replies) == 2 and not any(_open(r.text, r.blocks) for r in replies)

    await sim.wait_for(settled, timeout=30)
    stray, kept = sim.bot_replies(ws.general, turn.thread_ts)
    assert kept.text == WORDS
    assert stray.text and WORDS.startswith(stray.text)  # what it showed, without indicator


async def test_a_native_stream_start_whose_answer_was_lost_is_adopted(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """SLACK_STREAMING=native: chat.startStream applied, its answer lost. The retry finds
    the stream (it shows a prefix of the text, no indicator, no Stop button of ours) and
    continues in it: one message, stopped, with the whole reply."""
    bot = await start_bot(streaming="native", render="mrkdwn", core={"feedback": False})
    lost: list[CallRecord] = []
    script = _held_reply()

    async def lose(call: CallRecord) -> None:
        lost.append(call)
        script.hold.set()
        raise AnswerLost

    sim.after_call("chat.startStream", lose)
    lyzr.enqueue(script)
    turn = await ask(sim, bot, "go")
    ws = sim.workspace

    assert lost
    assert len(sim.calls("chat.startStream")) == 1  # not started twice
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert not reply.streaming and reply.text == WORDS
