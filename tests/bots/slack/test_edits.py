"""Edited messages: Slack sends ``app_mention`` again (a new event id, the same ts, an
``edited`` field) and a ``message_changed``. An edit of a message the bot answered is never
a second reply, however late; an edit that first mentions the bot is answered once."""

from __future__ import annotations

import time

import pytest

from bots.simulators.slack import Message, SimConfig, SlackSimulator, app_mention_event
from bots.slack.app import SlackService
from core.sessions.keys import SessionKeys
from core.turn import ThreadRef
from tests.bots.slack.conftest import StartBot, ask, mention
from tests.servers.lyzr_server import LyzrServer


async def settle(sim: SlackSimulator, bot: SlackService, label: str) -> None:
    """Everything sent before is handled: a marker mention elsewhere gets its reply, and no
    turn is left running."""
    ws = sim.workspace
    marker = await sim.user_says(ws.random, ws.bob, mention(sim, label))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.random, marker.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)


async def expire_dedup(bot: SlackService, namespace: str, message: Message) -> None:
    """As if the 10-minute dedup window had passed: the responder's key for it is gone."""
    responder = bot.bot.responder
    where = ThreadRef("slack", message.team_id, message.channel, message.thread_ts or message.ts)
    conversation = responder.conversation_of(where, user=message.user, is_dm=False)
    keys = SessionKeys(conversation, namespace=namespace)
    assert await responder.gate.redis.delete(keys.seen(f"slack:{message.channel}:{message.ts}"))


async def test_an_edit_of_an_answered_mention_is_never_a_second_reply(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, namespace: str
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    turn = await ask(sim, bot, "what is 2+2", replies=1)

    edit = await sim.user_edits(turn.message, mention(sim, "what is 2+2 exactly"))
    assert [d.acked for d in edit.deliveries] == [True, True]
    await settle(sim, bot, "marker one")
    await expire_dedup(bot, namespace, turn.message)  # ... much later
    await sim.user_edits(turn.message, mention(sim, "what is 2+2, really"))
    await settle(sim, bot, "marker two")

    assert len(sim.bot_replies(ws.general, turn.thread_ts)) == 1
    asked = [r.json["message"] for r in lyzr.stream_requests()]
    assert asked == ["what is 2+2", "marker one", "marker two"]


async def test_an_edit_that_adds_the_first_mention_is_answered_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, namespace: str
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    said = await sim.user_says(ws.general, ws.alice, "what is the capital of France")
    await sim.user_edits(said.message, mention(sim, "what is the capital of France"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, said.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    await expire_dedup(bot, namespace, said.message)
    await sim.user_edits(said.message, mention(sim, "what is the capital of Italy"))
    await settle(sim, bot, "marker")

    assert len(sim.bot_replies(ws.general, said.thread_ts)) == 1
    asked = [r.json["message"] for r in lyzr.stream_requests()]
    assert asked == ["what is the capital of France", "marker"]


# An app subscribed to channel messages but whose app_mention is late or missing.
@pytest.mark.parametrize(
    "sim", [SimConfig(subscriptions=frozenset({"message.channels", "message.im"}))], indirect=True
)
async def test_an_added_mention_seen_only_as_message_changed_is_answered_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    bot = await start_bot()
    ws = sim.workspace
    said = await sim.user_says(ws.general, ws.alice, "forgot to say")
    (changed,) = (await sim.user_edits(said.message, mention(sim, "hello"))).deliveries
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, said.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    # Slack's app_mention for the same edit arrives after all: not a second reply.
    await sim.send_event(app_mention_event(said.message))
    marker = await sim.user_says(ws.alice_dm, ws.alice, "marker")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, marker.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    replies = sim.bot_replies(ws.general, said.thread_ts)
    assert changed.acked and len(replies) == 1
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["hello", "marker"]


async def test_an_edit_of_an_old_message_is_not_answered(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    said = sim.user_message(ws.general, ws.alice, "an old question")
    event = app_mention_event(said)
    month_ago = f"{time.time() - 30 * 24 * 3600:.6f}"
    event.update(
        text=mention(sim, "an old question"), ts=month_ago, edited={"user": ws.alice, "ts": "1.0"}
    )
    delivery = await sim.send_event(event)
    assert delivery.acked
    await settle(sim, bot, "marker")
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["marker"]
