"""Edits, deletions and the bot's own echoes arriving late over Socket Mode: sent while the
bot's only connection was down (``SocketHub.cut``), they come on Slack's retry schedule
once it is back, like any other event; one whose connection broke before its ack comes
again with ``retry_attempt`` 1. The bot does with each what it does when it comes on time:

- a question deleted while the agent thinks: the deletion stops the agent and nothing is
  posted; come after the bot's first post into the gone thread was refused, the reply
  was ended at Slack's ``thread_not_found`` already (as in ``test_failures``); deleted
  once the reply shows, it stays as a tombstone with its thread, and the reply stops
  there with a notice (``test_deletions``);
- an edit: never a second reply to an answered message, and the first mention added by an
  edit answered once (as in ``test_edits``), the agent never asked twice;
- the bot's own messages and edits echoed back: ignored.

The ack timeout and the retry delays are scaled down, as in ``test_socket_redelivery``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from bots.simulators.slack import Delivery, SimConfig, SlackSimulator, SocketDelivery, UserTurn
from bots.slack.app import SlackService
from core.texts import QUESTION_DELETED
from tests.bots.slack.conftest import StartBot, mention, reply_script
from tests.servers.lyzr_server import LyzrScript, LyzrServer

SCALED = SimConfig(ack_timeout=0.5, socket_retry_delays=(0.0, 2.0, 10.0))
ECHOING = SimConfig(ack_timeout=0.5, socket_retry_delays=(0.0, 2.0, 10.0), echo_bot_events=True)
REPLY = "one two three four five six"


def over_socket(deliveries: Sequence[Delivery]) -> list[SocketDelivery]:
    assert all(isinstance(d, SocketDelivery) for d in deliveries)
    return [d for d in deliveries if isinstance(d, SocketDelivery)]


async def acked(deliveries: Sequence[Delivery]) -> list[SocketDelivery]:
    """The deliveries, once each is acked."""
    for delivery in over_socket(deliveries):
        await delivery.wait_acked()
    return over_socket(deliveries)


def chat_calls_since(sim: SlackSimulator, start: float) -> int:
    return len(
        [c for c in sim.calls() if c.time >= start and c.method.startswith(("chat.", "files."))]
    )


@dataclass(frozen=True, slots=True)
class DeletedWhileDown:
    """Alice asked, the agent thinks (its reply held), the bot's only connection went down
    and Alice deleted her question: its ``message_deleted`` is queued (``gone``). A second
    reply ("Fine here.") waits for the next question."""

    bot: SlackService
    held: LyzrScript
    turn: UserTurn
    gone: SocketDelivery


@pytest.fixture(params=["edit", "native"])
async def deleted_while_down(
    request: pytest.FixtureRequest, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> DeletedWhileDown:
    """:class:`DeletedWhileDown`, in either streaming mode."""
    ws = sim.workspace
    held = reply_script("word " * 50, hold_after=0, holds={3: asyncio.Event()})
    lyzr.enqueue(held, reply_script("Fine here."))
    bot = await start_bot("socket", streaming=request.param)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    await acked(turn.deliveries)
    await sim.wait_for(lambda: len(lyzr.stream_requests()) == 1)  # the agent is thinking
    await sim.socket.cut()
    gone = await sim.user_deletes(turn.message)
    assert isinstance(gone, SocketDelivery) and gone.sent_at == []  # no connection: queued
    return DeletedWhileDown(bot, held, turn, gone)


async def settle(sim: SlackSimulator, bot: SlackService, label: str) -> None:
    """Everything sent before is handled: a marker in a DM gets its reply, and no turn is
    left running."""
    ws = sim.workspace
    marker = await sim.user_says(ws.alice_dm, ws.alice, label)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, marker.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
async def test_a_question_deleted_while_the_connection_is_down_ends_the_reply_as_on_time(
    deleted_while_down: DeletedWhileDown,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """``test_a_question_deleted_before_the_reply_ends_it_without_retries``, with the
    bot's only connection down when Alice deletes her question: the ``message_deleted``
    comes late, after the bot's first post into the gone thread was refused."""
    ws = sim.workspace
    bot, held, gone = deleted_while_down.bot, deleted_while_down.held, deleted_while_down.gone
    with caplog.at_level(logging.INFO):
        held.hold.set()
        await sim.wait_for(lambda: any(c.error == "thread_not_found" for c in sim.calls()))
        refusal = next(c for c in sim.calls() if c.error == "thread_not_found")
        await sim.wait_for(lambda: not bot.bot.tasks)
        sim.socket.restore()
        await gone.wait_acked()
        await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
        after_refusal = chat_calls_since(sim, refusal.time)
        other = await sim.user_says(ws.general, ws.bob, mention(sim, "still there?"))
        await sim.wait_for(lambda: len(sim.bot_replies(ws.general, other.thread_ts)) == 1)
        await sim.wait_for(lambda: not bot.bot.tasks)

    assert gone.payload["event"]["subtype"] == "message_deleted"
    assert after_refusal <= 3  # the refusal, and a handful at most: no retry storm
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("thread_not_found" in line and "stopping the reply" in line for line in said)
    assert not [r for r in caplog.records if r.exc_info]  # nothing crashed
    assert sim.bot_replies(ws.general, other.thread_ts)[0].text == "Fine here."
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["talk", "still there?"]


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
async def test_a_question_deleted_while_the_connection_is_down_stops_the_agent_first(
    deleted_while_down: DeletedWhileDown,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The ``message_deleted`` sent while the bot's only connection was down comes (once
    more after its first envelope broke the new connection, ``retry_attempt`` 1) while
    the agent still thinks: the agent is stopped, and nothing is posted into the gone
    thread, so Slack never has to refuse a post."""
    ws = sim.workspace
    bot, held, gone = deleted_while_down.bot, deleted_while_down.held, deleted_while_down.gone
    turn = deleted_while_down.turn
    with caplog.at_level(logging.INFO):
        sim.socket.break_after_next = 1  # its first envelope breaks the new connection
        sim.socket.restore()
        await gone.wait_acked()  # it came once more (retry_attempt 1)
        assert len(gone.sent_at) >= 2
        await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
        await sim.wait_for(lambda: not bot.bot.tasks)
        held.hold.set()
        other = await sim.user_says(ws.general, ws.bob, mention(sim, "still there?"))
        await sim.wait_for(lambda: len(sim.bot_replies(ws.general, other.thread_ts)) == 1)
        await sim.wait_for(lambda: not bot.bot.tasks)

    assert gone.payload["event"]["subtype"] == "message_deleted"
    assert not any(c.error == "thread_not_found" for c in sim.calls())
    assert sim.thread_messages(ws.general, turn.thread_ts)[1:] == []  # nothing posted
    assert not [r for r in caplog.records if r.exc_info]  # nothing crashed
    assert sim.bot_replies(ws.general, other.thread_ts)[0].text == "Fine here."
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["talk", "still there?"]


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
@pytest.mark.parametrize("late", [False, True])
async def test_a_question_deleted_while_its_reply_streams_stops_the_reply_even_late(
    late: bool, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The question already has the bot's reply under it: deleted, it stays as a tombstone
    with its thread (Slack sends ``message_changed`` carrying the tombstone), and the reply
    streaming there stops with what it showed and a notice, on time or with that event
    coming late."""
    ws = sim.workspace
    script = reply_script(REPLY, hold_after=2)
    lyzr.enqueue(script)
    bot = await start_bot("socket")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    await acked(turn.deliveries)
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    if late:
        await sim.socket.cut()
    gone = await sim.user_deletes(turn.message)
    assert isinstance(gone, SocketDelivery) and gone.payload["event"]["subtype"] == (
        "message_changed"
    )
    if late:
        assert gone.sent_at == []  # no connection: queued
        sim.socket.restore()
    await gone.wait_acked()
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent was stopped
    await sim.wait_for(lambda: not bot.bot.tasks)
    script.hold.set()
    await settle(sim, bot, "marker")

    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text.startswith("one") and "three" not in reply.text
    assert reply.text.endswith(QUESTION_DELETED)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["talk", "marker"]


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
@pytest.mark.parametrize("late", [False, True])
async def test_an_edit_of_a_mention_being_answered_is_never_a_second_reply_even_late(
    late: bool, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Alice edits her mention while its reply streams: Slack sends ``app_mention`` again
    (``edited``) and ``message_changed``. On time or late (sent while the connection was
    down, the first of them then breaking the new connection before its ack, so it comes
    yet again with ``retry_attempt`` 1), neither is a second reply."""
    ws = sim.workspace
    script = reply_script(REPLY, hold_after=2)
    lyzr.enqueue(script)
    bot = await start_bot("socket")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "what is 2+2"))
    await acked(turn.deliveries)
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    if late:
        await sim.socket.cut()
    edit = over_socket((await sim.user_edits(turn.message, mention(sim, "2+2 exactly"))).deliveries)
    kinds = sorted(d.payload["event"].get("subtype", d.payload["event"]["type"]) for d in edit)
    assert kinds == ["app_mention", "message_changed"]
    if late:
        assert all(not d.sent_at for d in edit)  # no connection: queued
        sim.socket.break_after_next = 1
        sim.socket.restore()
    await acked(edit)
    script.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks)
    await settle(sim, bot, "marker")

    if late:
        assert max(len(d.sent_at) for d in edit) >= 2  # one came again after its break
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == REPLY
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["what is 2+2", "marker"]


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
@pytest.mark.parametrize("late", [False, True])
async def test_an_edit_adding_the_first_mention_is_answered_once_even_late_and_retried(
    late: bool, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """An edit adds the first mention of the bot to a plain message: answered once, with
    the edited text, on time or late; Slack sending both events once more afterwards
    (``retry_attempt`` 1 or more) asks the agent nothing."""
    ws = sim.workspace
    bot = await start_bot("socket")
    said = await sim.user_says(ws.general, ws.alice, "what is the capital of France")
    await acked(said.deliveries)
    if late:
        await sim.socket.cut()
    changed = await sim.user_edits(said.message, mention(sim, "what is the capital of France"))
    edit = over_socket(changed.deliveries)
    if late:
        assert all(not d.sent_at for d in edit)  # no connection: queued
        sim.socket.restore()
    await acked(edit)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, said.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    acks = len(sim.socket.received)
    for delivery in edit:
        await sim.redeliver(delivery)  # retry_attempt counts the envelopes sent before
    await sim.wait_for(lambda: len(sim.socket.received) == acks + len(edit))
    await settle(sim, bot, "marker")

    assert all(len(d.sent_at) >= 2 for d in edit)
    assert len(sim.bot_replies(ws.general, said.thread_ts)) == 1
    asked = [r.json["message"] for r in lyzr.stream_requests()]
    assert asked == ["what is the capital of France", "marker"]


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
async def test_a_mention_posted_and_edited_while_the_connection_is_down_is_answered_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Both the mention and its edit wait for Slack's retries (four envelopes: each one's
    ``app_mention`` and ``message`` / ``message_changed``): whichever comes first is
    answered, once; the agent is asked once."""
    ws = sim.workspace
    bot = await start_bot("socket")
    await sim.socket.cut()
    said = await sim.user_says(ws.general, ws.alice, mention(sim, "capital of Frnace?"))
    edit = await sim.user_edits(said.message, mention(sim, "capital of France?"))
    queued = over_socket(said.deliveries + edit.deliveries)
    assert len(queued) == 4 and all(not d.sent_at for d in queued)
    sim.socket.restore()
    await acked(queued)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, said.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    await settle(sim, bot, "marker")

    assert len(sim.bot_replies(ws.general, said.thread_ts)) == 1
    asked = [r.json["message"] for r in lyzr.stream_requests()]
    assert asked[1:] == ["marker"] and asked[0] in ("capital of Frnace?", "capital of France?")


def _echo(delivery: SocketDelivery, bot_id: str) -> bool:
    """Whether the envelope carries the bot's own message, or a change to one."""
    event = delivery.payload.get("event") or {}
    changed = [event, event.get("message") or {}, event.get("previous_message") or {}]
    return any(part.get("bot_id") == bot_id for part in changed)


@pytest.mark.parametrize("sim", [ECHOING], indirect=True)
@pytest.mark.parametrize("streaming", ["edit", "native"])
async def test_the_bots_own_messages_echoed_late_are_ignored(
    streaming: str, sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The bot posts and edits its reply in a channel thread while its only connection is
    down: the echoes of those (``message``, ``message_changed``) come late, some once more
    after that (``retry_attempt`` 1 or more); none is answered."""
    ws = sim.workspace
    script = reply_script(REPLY, hold_after=2)
    lyzr.enqueue(script)
    bot = await start_bot("socket", streaming=streaming)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "talk"))
    await acked(turn.deliveries)
    await sim.wait_for(lambda: lyzr.stream_requests() != [])
    await sim.socket.cut()
    before = set(sim.socket.deliveries)
    script.hold.set()  # the reply goes on, posted and edited while the bot cannot receive
    await sim.wait_for(lambda: not bot.bot.tasks)
    late = [d for key, d in sim.socket.deliveries.items() if key not in before]
    echoes = [d for d in late if _echo(d, ws.bot_id)]
    assert echoes == late and all(not d.sent_at for d in echoes)  # every one queued
    sim.socket.restore()
    await acked(echoes)
    acks = len(sim.socket.received)
    for delivery in echoes:
        await sim.redeliver(delivery)
    await sim.wait_for(lambda: len(sim.socket.received) == acks + len(echoes))
    await settle(sim, bot, "marker")

    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == REPLY
    assert all(len(d.sent_at) >= 2 for d in echoes)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["talk", "marker"]


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
async def test_a_question_posted_and_deleted_while_the_connection_is_down_is_never_asked(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Alice mentions the bot and deletes her message while its only connection is down:
    both come late, the message first. Its turn gets its place in the thread and names the
    user it mentions (``users.info``, answered here only once the bot has taken the
    deletion in): the deletion drops the turn before anything reaches the agent."""
    ws = sim.workspace
    bot = await start_bot("socket")
    responder = bot.bot.responder
    original, deleted = responder.withdraw, asyncio.Event()

    async def withdraw(*args: Any, **kwargs: Any) -> bool:
        result = await original(*args, **kwargs)
        deleted.set()
        return result

    responder.withdraw = withdraw  # type: ignore[method-assign]

    async def after_the_deletion(_: Any) -> None:
        await asyncio.wait_for(deleted.wait(), 20)

    sim.after_call("users.info", after_the_deletion, match=lambda p: p.get("user") == ws.bob)
    await sim.socket.cut()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, f"ask <@{ws.bob}>"))
    gone = await sim.user_deletes(turn.message)
    assert isinstance(gone, SocketDelivery) and gone.sent_at == []  # no connection: queued
    sim.socket.restore()
    await acked([*turn.deliveries, gone])
    await asyncio.wait_for(deleted.wait(), 20)
    await sim.wait_for(lambda: not bot.bot.tasks)
    await settle(sim, bot, "marker")

    assert [r.json["message"] for r in lyzr.stream_requests()] == ["marker"]
    posts = [c for c in sim.calls("chat.postMessage") if c.params.get("channel") == ws.general]
    assert posts == []  # nothing said in the gone thread
