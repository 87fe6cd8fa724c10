"""Conversations end to end: mention → threaded streamed reply, sessions per thread, DMs,
follow-ups, commands, and what the bot ignores. Real bolt app, simulator, Redis, Lyzr wire."""

from __future__ import annotations

import asyncio
import functools
import logging

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import FEEDBACK_ACTION_ID, STOP_ACTION_ID, stop_controls
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.safe_markdown import to_safe_markdown
from bots.simulators.slack import Message, SimConfig, SlackSimulator, message_changed_event
from bots.simulators.slack.blocks import find_action
from bots.slack.texts import NOTHING_TO_STOP
from tests.bots.slack.conftest import Mode, StartBot, ask, mention, reply_script, reply_shown
from tests.servers.lyzr_server import LyzrServer

REPLY = (
    "Here is **the answer**, with _style_ and a [link](https://example.com).\n\n"
    "- first point\n- second point\n\n"
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "That is all, & nothing <more>."
)


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_mention_streams_a_threaded_reply_with_several_edits(
    mode: Mode, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    # Paced tokens, held after "first", "second" and "add(a," until the bot shows each: the
    # reply still streams when first shown and grows by an edit for each step, however slow
    # the machine (1.2 s of tokens straight through could leave too little time for them).
    steps = {11: "first", 14: "second", 18: "add(a,"}
    holds = {after: asyncio.Event() for after in steps}
    lyzr.enqueue(reply_script(REPLY, delay=0.04, holds=holds))
    bot = await start_bot(mode)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "explain addition"))
    thread = turn.thread_ts

    # The thinking status comes first, within one round trip of the event.
    await sim.wait_for(lambda: bool(sim.calls("assistant.threads.setStatus")))
    first_status = sim.calls("assistant.threads.setStatus")[0]
    assert first_status.params["thread_ts"] == thread

    live = await reply_shown(sim, ws.general, thread)
    assert find_action(live.blocks, STOP_ACTION_ID) is not None  # stoppable while streaming
    for after, word in steps.items():
        await sim.wait_for(functools.partial(shows, live, word))
        holds[after].set()
    await sim.wait_for(
        lambda: find_action(live.blocks, STOP_ACTION_ID) is None and not bot.bot.tasks
    )

    (reply,) = sim.bot_replies(ws.general, thread)
    # Slack renders the Markdown (a markdown block); notifications read its mrkdwn form.
    await sim.wait_for(lambda: find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None)
    assert reply.blocks is not None and [b["type"] for b in reply.blocks] == [
        "markdown", "context_actions"
    ]  # fmt: skip
    assert reply.blocks[0] == {"type": "markdown", "text": to_safe_markdown(REPLY)}
    assert reply.text == to_mrkdwn(REPLY)
    edits = [c for c in sim.calls("chat.update") if c.params.get("ts") == reply.ts]
    assert len(edits) >= 3  # first text posted, then several paced edits, then the final
    assert all(c.ok for c in sim.calls()), [c for c in sim.calls() if not c.ok]
    (request,) = lyzr.stream_requests()  # app_mention + message event: answered once
    assert request.json["message"] == "explain addition"
    assert request.json["user_id"] == ws.alice


def shows(message: Message, word: str) -> bool:
    return word in str(message.blocks)


async def test_follow_ups_share_the_thread_session_and_threads_do_not(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    first = await ask(sim, bot, "remember 42", replies=1)

    # A reply in the thread, without mentioning the bot: the same conversation.
    await sim.user_says(ws.general, ws.bob, "what did I say?", thread_ts=first.thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 2)
    # Another thread: another conversation.
    await ask(sim, bot, "hello", replies=1)

    sessions = [r.json["session_id"] for r in lyzr.stream_requests()]
    assert len(sessions) == 3
    assert sessions[0] == sessions[1] != sessions[2]
    follow_up = sim.bot_replies(ws.general, first.thread_ts)[1]
    assert follow_up.text == "You said: remember 42."


async def test_thread_replies_are_ignored_without_a_conversation_or_when_disabled(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot(follow_ups=False)
    top = sim.user_message(ws.general, ws.alice, "a thread the bot is not in")
    await sim.user_says(ws.general, ws.bob, "a reply", thread_ts=top.ts)
    answered = await ask(sim, bot, "hi", replies=1)
    await sim.user_says(ws.general, ws.bob, "follow-up", thread_ts=answered.thread_ts)
    await sim.user_says(ws.general, ws.bob, "a top-level message, no mention")
    await sim.user_says(ws.general, ws.bob, "another try", thread_ts=answered.thread_ts)
    late = await sim.user_says(ws.general, ws.alice, mention(sim, "marker"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, late.thread_ts)) == 1)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["hi", "marker"]
    assert sim.bot_replies(ws.general, top.ts) == []


async def test_direct_messages_are_answered_in_the_message_thread(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    first = await sim.user_says(ws.alice_dm, ws.alice, "hi in a DM")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, first.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    again = await sim.user_says(ws.alice_dm, ws.alice, "in the thread", thread_ts=first.thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, first.thread_ts)) == 2)
    fresh = await sim.user_says(ws.alice_dm, ws.alice, "a new top-level DM")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, fresh.thread_ts)) == 1)
    sessions = [r.json["session_id"] for r in lyzr.stream_requests()]
    assert sessions[0] == sessions[1] != sessions[2]
    assert again.thread_ts == first.thread_ts


async def say_new(sim: SlackSimulator, thread: str) -> None:
    """Alice sends the ``new`` command in ``thread`` of #general (one turn answered there);
    returns once the bot's confirmation shows."""
    ws = sim.workspace
    await sim.user_says(ws.general, ws.alice, mention(sim, "new"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 2)


async def test_new_command_starts_a_fresh_session_in_the_same_thread(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    thread = (await ask(sim, bot, "remember 7", replies=1)).thread_ts
    await say_new(sim, thread)
    confirmation = sim.bot_replies(ws.general, thread)[1]
    assert "new conversation" in confirmation.text
    await sim.user_says(ws.general, ws.alice, "what did I say?", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 3)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.bot_replies(ws.general, thread)[2].text == "You said: nothing yet."
    sessions = [r.json["session_id"] for r in lyzr.stream_requests()]
    assert len(sessions) == 2 and sessions[0] != sessions[1]


async def test_a_rate_limited_confirmation_is_posted_once_the_limit_lifts(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    thread = (await ask(sim, bot, "remember 7", replies=1)).thread_ts
    sim.fail_next("chat.postMessage", "ratelimited")  # 429, Retry-After: 1
    await say_new(sim, thread)
    assert "new conversation" in sim.bot_replies(ws.general, thread)[1].text
    assert [c.error for c in sim.calls("chat.postMessage")][-2:] == ["ratelimited", None]


# Slack echoes the bot's own posts and edits.
@pytest.mark.parametrize("sim", [SimConfig(echo_bot_events=True)], indirect=True)
async def test_own_and_other_bots_messages_edits_and_deletions_are_ignored(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    bot = await start_bot()
    ws = sim.workspace
    turn = await ask(sim, bot, "once", replies=1)
    # Another bot mentions us; a user's message is edited: no answer to either.
    await sim.user_says(ws.general, ws.helper_bot_user, mention(sim, "bot talk"))
    channel = sim.store.channels[ws.general]
    edited = message_changed_event(turn.message, channel, turn.message.to_api(), "9.9")
    await sim.send_event(edited)
    await ask(sim, bot, "marker", replies=1)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["once", "marker"]


async def test_other_bots_are_answered_when_allowed(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    await start_bot(answer_bots=True)
    turn = await sim.user_says(ws.general, ws.helper_bot_user, mention(sim, "from a bot"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 1)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["from a bot"]


async def test_attached_files_reach_the_agent(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    await start_bot()
    turn = await sim.user_says(
        ws.alice_dm,
        ws.alice,
        "summarise this",
        files=[("report.pdf", b"%PDF-1.4", "application/pdf")],
    )
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, turn.thread_ts)) == 1)
    (request,) = lyzr.stream_requests()
    assert request.json["message"] == "summarise this"
    (asset,) = (lyzr.assets[a] for a in request.json["assets"])
    assert (asset.file_name, asset.data) == ("report.pdf", b"%PDF-1.4")


async def test_mentions_from_the_agent_never_ping(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    lyzr.enqueue(reply_script(f"Hey <!channel> and <!here>, <@{ws.bob}> @everyone look!"))
    bot = await start_bot()
    turn = await ask(sim, bot, "ping everyone", replies=1)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.blocks is not None
    shown = reply.blocks[0]["text"]  # the markdown block Slack renders
    for ping in ("<!channel>", "<!here>", f"<@{ws.bob}>"):
        assert ping not in reply.text and ping not in shown
    assert "<\u2060!channel>" in shown and "@\u2060everyone" in shown
    assert "&lt;\u2060!channel&gt;" in reply.text and "@\u2060everyone" in reply.text
    for call in sim.calls("chat.update") + sim.calls("chat.postMessage"):
        assert "<!channel>" not in str(call.params)


async def test_an_event_with_a_broken_id_is_dropped_and_the_next_answered(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    broken = sim.events_for(sim.user_message(ws.general, ws.alice, mention(sim, "hi")))[0]
    broken["channel"] = ws.general + "\ud800"
    delivery = await sim.send_event(broken, retries=False)
    assert delivery.acked
    await ask(sim, bot, "still there?", replies=1)
    assert len(lyzr.stream_requests()) == 1
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_stop_button_left_on_a_finished_reply_tells_the_clicker(
    sim: SlackSimulator, start_bot: StartBot
) -> None:
    """A Stop button whose reply is over (its final edit never landed: a crash, an outage)
    answers a click privately instead of doing nothing."""
    ws = sim.workspace
    await start_bot()
    asked = sim.user_message(ws.general, ws.alice, "an old question")
    client = AsyncWebClient(token=ws.bot_token, base_url=sim.api_url)
    left = await client.chat_postMessage(
        channel=ws.general, thread_ts=asked.ts, text="a partial reply ▍",
        blocks=[stop_controls(asked.ts)],
    )  # fmt: skip
    await sim.click_button(ws.general, str(left["ts"]), STOP_ACTION_ID, user=ws.alice)
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 1)
    (note,) = sim.store.ephemerals
    assert note.user == ws.alice and note.text.strip("_") == NOTHING_TO_STOP.strip("_")
