"""A person deleting their question (``message_deleted``, or the tombstone's
``message_changed`` for a thread parent with replies): a question deleted before the agent
was asked never reaches it, and one deleted while its reply streams stops that reply, which
keeps its partial text and says why (``core.texts.QUESTION_DELETED``). The bot's own
deletions, echoed back, stop nothing.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bots.simulators.slack import SimConfig, SlackSimulator, SocketDelivery
from bots.slack.app import SlackService
from core.texts import QUESTION_DELETED
from tests.bots.slack.conftest import StartBot, mention, reply_script
from tests.servers.lyzr_server import LyzrServer

ECHOING = SimConfig(echo_bot_events=True)


def withdrawals_seen(bot: SlackService) -> asyncio.Event:
    """Set once the bot has told the core of a deletion (the responder's ``withdraw``
    returned): the test goes on only once the deletion has taken effect."""
    responder = bot.bot.responder
    original = responder.withdraw
    seen = asyncio.Event()

    async def withdraw(*args: Any, **kwargs: Any) -> bool:
        result = await original(*args, **kwargs)
        seen.set()
        return result

    responder.withdraw = withdraw  # type: ignore[method-assign]
    return seen


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_a_question_deleted_while_queued_is_never_sent_to_the_agent(
    mode: str, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Alice asks a second question in the thread while the first is answered, then deletes
    it: its turn, waiting behind the first, is dropped quietly when its place comes."""
    ws = sim.workspace
    first = reply_script("first answer", hold_after=1)
    lyzr.enqueue(first, reply_script("never"))
    bot = await start_bot(mode)
    deleted = withdrawals_seen(bot)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "one"))
    await sim.wait_for(lambda: len(lyzr.stream_requests()) == 1)
    second = await sim.user_says(
        ws.general, ws.alice, mention(sim, "two"), thread_ts=turn.thread_ts
    )
    gone = await sim.user_deletes(second.message)
    assert gone is not None
    if isinstance(gone, SocketDelivery):
        assert gone.payload["event"]["subtype"] == "message_deleted"
    await asyncio.wait_for(deleted.wait(), 20)
    first.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks)

    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == "first answer"
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["one"]


@pytest.mark.parametrize("streaming", ["edit", "native"])
async def test_a_question_deleted_while_its_reply_streams_stops_the_reply(
    streaming: str, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The reply already shows under the question: deleted, the question stays as a
    tombstone with its thread (``message_changed``), and the reply stops there as a Stop
    would, its partial text kept with a notice saying why; the agent's stream is closed."""
    ws = sim.workspace
    script = reply_script("one two three four five six", hold_after=2)
    lyzr.enqueue(script, reply_script("Fine here."))
    bot = await start_bot("socket", streaming=streaming)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    gone = await sim.user_deletes(turn.message)
    assert isinstance(gone, SocketDelivery)
    assert gone.payload["event"]["subtype"] == "message_changed"
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
    await sim.wait_for(lambda: not bot.bot.tasks)
    script.hold.set()

    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text.startswith("one")
    assert "three" not in reply.text  # held after "two"
    assert reply.text.endswith(QUESTION_DELETED)
    # The thread still works: another question in it is answered.
    later = await sim.user_says(
        ws.general, ws.bob, mention(sim, "still there?"), thread_ts=turn.thread_ts
    )
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, later.thread_ts)) == 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.bot_replies(ws.general, turn.thread_ts)[1].text == "Fine here."


async def test_a_question_deleted_before_anything_shows_posts_nothing(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The agent is thinking, nothing shows yet: the question deleted (no replies: its
    thread goes with it, ``message_deleted``), the agent is stopped and nothing is posted,
    not even a notice."""
    ws = sim.workspace
    script = reply_script("word " * 20, hold_after=0)
    lyzr.enqueue(script)
    bot = await start_bot("socket")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    await sim.wait_for(lambda: len(lyzr.stream_requests()) == 1)
    gone = await sim.user_deletes(turn.message)
    assert isinstance(gone, SocketDelivery)
    assert gone.payload["event"]["subtype"] == "message_deleted"
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)
    await sim.wait_for(lambda: not bot.bot.tasks)
    script.hold.set()

    posts = [c for c in sim.calls() if c.method in ("chat.postMessage", "chat.startStream")]
    assert posts == []


@pytest.mark.parametrize("sim", [ECHOING], indirect=True)
async def test_the_bots_own_deleted_message_stops_nothing(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The bot's own messages deleted (their ``message_deleted`` echoed back to it) are not
    a person withdrawing a question: the reply streaming meanwhile goes on to its end."""
    ws = sim.workspace
    lyzr.enqueue(reply_script("a first reply"))
    script = reply_script("one two three four five six", hold_after=2)
    lyzr.enqueue(script)
    bot = await start_bot("socket")
    done = await sim.user_says(ws.general, ws.alice, mention(sim, "first"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, done.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    turn = await sim.user_says(
        ws.general, ws.alice, mention(sim, "second"), thread_ts=done.thread_ts
    )
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, done.thread_ts)) == 2)
    (old, _) = sim.bot_replies(ws.general, done.thread_ts)
    echo = await sim.user_deletes(old)  # the bot's own message, deleted
    assert isinstance(echo, SocketDelivery)
    await echo.wait_acked()
    script.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks)

    replies = sim.bot_replies(ws.general, turn.thread_ts)
    assert replies[-1].text == "one two three four five six"
    assert not lyzr.disconnected.is_set()


async def test_a_question_deleted_in_an_assistant_thread_stops_its_reply(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """In an assistant thread (``SLACK_ASSISTANT``), where bolt's own assistant middleware
    acks and drops deletions before any listener: the reply still stops."""
    ws = sim.workspace
    script = reply_script("one two three four five six", hold_after=2)
    lyzr.enqueue(script)
    bot = await start_bot("socket", assistant=True, assistant_greeting="Hello!")
    root, _ = await sim.start_assistant_thread(ws.alice, viewing=ws.general)
    dm, thread = root.channel, root.ts
    await sim.wait_for(lambda: len(sim.bot_replies(dm, thread)) == 1)  # the greeting
    question = await sim.user_says(dm, ws.alice, "talk", thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(dm, thread)) == 2)
    gone = await sim.user_deletes(question.message)
    assert isinstance(gone, SocketDelivery)
    assert gone.payload["event"]["subtype"] == "message_deleted"
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
    await sim.wait_for(lambda: not bot.bot.tasks)
    script.hold.set()

    reply = sim.bot_replies(dm, thread)[1]
    assert reply.text.startswith("one") and reply.text.endswith(QUESTION_DELETED)


async def test_a_question_deleted_before_its_first_post_lands_posts_nothing(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The reply has text, but its first post has not landed (Slack answers 503: the post
    waits for its retry) when the question, a reply in a thread that stays, is deleted:
    nothing of the reply is posted once Slack is back, neither its text nor a notice."""
    ws = sim.workspace
    lyzr.enqueue(reply_script("Hello."))
    script = reply_script("one two three four five six", hold_after=2)
    lyzr.enqueue(script)
    bot = await start_bot()
    first = await sim.user_says(ws.general, ws.alice, mention(sim, "hi"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    sim.start_outage("5xx")
    second = await sim.user_says(
        ws.general, ws.alice, mention(sim, "and?"), thread_ts=first.thread_ts
    )
    await sim.wait_for(lambda: bool(sim.calls("chat.postMessage", ok=False)))
    await sim.user_deletes(second.message)
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
    sim.end_outage()
    await sim.wait_for(lambda: not bot.bot.tasks)
    script.hold.set()

    assert [m.text for m in sim.bot_replies(ws.general, first.thread_ts)] == ["Hello."]
