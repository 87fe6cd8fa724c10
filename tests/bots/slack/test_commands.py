"""``/threadcast help | status | new | stop``: answered only to the person, within Slack's
3-second acknowledgement, about their latest conversation in the channel."""

from __future__ import annotations

import json

import pytest

from bots.simulators.slack import HttpDelivery, SlackSimulator, SocketDelivery
from bots.slack import texts
from tests.bots.slack.conftest import Mode, StartBot, ask, reply_script
from tests.servers.lyzr_server import LyzrServer


def acked_text(delivery: HttpDelivery | SocketDelivery) -> str:
    """The answer given in the acknowledgement itself."""
    if isinstance(delivery, HttpDelivery):
        attempt = delivery.last
        assert attempt.failure is None and attempt.status == 200  # within the 3 s
        # A plain-text body is shown as is, like a JSON one's "text" (bolt sends either).
        if attempt.headers.get("Content-Type", "").startswith("text/plain"):
            return attempt.body
        return str(json.loads(attempt.body)["text"])
    assert delivery.ack is not None
    return str(delivery.ack["payload"]["text"])


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_help_is_answered_in_the_acknowledgement(
    mode: Mode, sim: SlackSimulator, start_bot: StartBot
) -> None:
    await start_bot(mode)
    delivery = await sim.slash_command(sim.workspace.general, "help")
    if isinstance(delivery, SocketDelivery):
        await delivery.wait_acked()
    text = acked_text(delivery)
    assert "/threadcast new" in text and "/threadcast stop" in text and "`stop`" in text
    unknown = await sim.slash_command(sim.workspace.general, "dance")
    if isinstance(unknown, SocketDelivery):
        await unknown.wait_acked()
    assert acked_text(unknown).startswith("_Unknown command `dance`._")
    assert sim.calls("response_url") == []  # nothing else was sent, nothing in the channel


async def test_status_new_and_stop_act_on_the_latest_conversation(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    none = await sim.slash_command(ws.general, "status")
    assert isinstance(none, HttpDelivery) and none.last.body in ("", "{}")  # plain ack
    (answer,) = await sim.wait_for_calls("response_url")
    assert answer.params["response_type"] == "ephemeral"
    assert answer.params["text"] == texts.NO_CONVERSATION

    turn = await ask(sim, bot, "remember 42")
    await sim.slash_command(ws.general, "status")
    status = (await sim.wait_for_calls("response_url", 2))[-1]
    assert status.params["text"].startswith("_Agent `default`, started ")
    assert status.params["text"].endswith(", 1 turn._")

    await sim.slash_command(ws.general, "new")
    fresh = (await sim.wait_for_calls("response_url", 3))[-1]
    assert fresh.params["text"] == texts.NEW_SESSION
    await sim.user_says(ws.general, ws.alice, "still there?", thread_ts=turn.thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 2)
    first, second = (r.json["session_id"] for r in lyzr.stream_requests())
    assert first != second  # the thread started afresh

    lyzr.enqueue(reply_script("word " * 300, delay=0.03, hold_after=299))  # ends if stopped
    await sim.user_says(ws.general, ws.alice, "talk a lot", thread_ts=turn.thread_ts)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 3)
    await sim.slash_command(ws.general, "stop")
    stopping = (await sim.wait_for_calls("response_url", 4))[-1]
    assert stopping.params["text"] == "_⏹ Stopping the reply…_"
    live = sim.bot_replies(ws.general, turn.thread_ts)[-1]
    await sim.wait_for(lambda: live.text.endswith("_⏹ Stopped._"), timeout=5)
    # Bob has no conversation of his own here.
    await sim.slash_command(ws.general, "stop", user=ws.bob)
    assert (await sim.wait_for_calls("response_url", 5))[-1].params["text"] == (
        texts.NO_CONVERSATION
    )


@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_app_home_shows_how_to_use_the_bot(
    mode: Mode, sim: SlackSimulator, start_bot: StartBot
) -> None:
    ws = sim.workspace
    await start_bot(mode)
    await sim.open_home(ws.bob)
    (publish,) = await sim.wait_for_calls("views.publish")
    assert publish.ok and publish.params["user_id"] == ws.bob
    view = sim.store.home_views[(ws.team_id, ws.bob)]
    shown = "\n".join(block["text"]["text"] for block in view["blocks"])
    assert view["type"] == "home" and "*How to use it*" in shown
    assert "/threadcast new" in shown and "/threadcast stop" in shown


async def test_commands_where_the_bot_is_not_are_answered_to_the_person(
    sim: SlackSimulator, start_bot: StartBot
) -> None:
    """Slack sends a slash command from any conversation, also one the bot is not in (a
    channel it was never invited to, a DM between two people): the answer goes through
    the command's ``response_url``, which needs no membership, never ``chat.postMessage``
    or ``chat.postEphemeral`` with the bot token there."""
    ws = sim.workspace
    await start_bot()
    elsewhere = sim.add_channel(ws.team_id, "elsewhere")
    elsewhere.bot_member = False
    between = sim.add_channel(ws.team_id, ws.bob, "im", im_user=ws.bob)
    await sim.slash_command(elsewhere.id, "status")
    await sim.slash_command(between.id, "new")
    answers = await sim.wait_for_calls("response_url", 2)
    assert [a.params["text"] for a in answers] == [texts.NO_CONVERSATION] * 2
    assert all(a.params["response_type"] == "ephemeral" for a in answers)
    assert sim.calls("chat.postMessage") == sim.calls("chat.postEphemeral") == []
