"""Socket Mode redelivery, as Slack does it by itself: an envelope not acked in time comes
again (``retry_attempt`` 1, 2, 3), over whichever connection is open; one due while none
is open (the bot reconnecting) comes on Slack's next retry. The user's message
still reaches the agent once and is answered once, while the first handling of it still
streams its reply: the bot claims each message in Redis (``bots.slack.answered``, the
turn gate's dedup), so the claim holds on another replica too.

The ack timeout and the retry delays are scaled down (Slack's 3 s; at once, after 1 and
after 5 minutes: ``SimConfig``); the simulator tests check them at full length in fake time.
"""

from __future__ import annotations

import logging

import pytest

from bots.simulators.slack import SimConfig, SlackSimulator, SocketDelivery
from tests.bots.slack.conftest import StartBot, mention, reply_script
from tests.servers.lyzr_server import LyzrServer

ACK_TIMEOUT = 0.5
SCALED = SimConfig(ack_timeout=ACK_TIMEOUT, socket_retry_delays=(0.0, 2.0, 10.0))
REPLY = "one two three four five six"


def dropped_as_duplicate(caplog: pytest.LogCaptureFixture) -> bool:
    """Whether the bot dropped a message it had already taken, at its claim
    (``SlackBot._first_answer``) or at the turn gate (``Responder``)."""
    said = [r.getMessage() for r in caplog.records]
    return any("already answered: duplicate dropped" in m or "duplicate event" in m for m in said)


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
async def test_an_event_lost_with_its_connection_is_sent_again_and_answered_once(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The connection breaks right after the envelope reached the bot, before its ack: the
    bot reconnects, Slack sends the envelope again over the new connection while the first
    handling still streams its reply."""
    ws = sim.workspace
    bot = await start_bot("socket")
    script = reply_script(REPLY, hold_after=2)
    lyzr.enqueue(script)
    sim.socket.break_after_next = 1
    with caplog.at_level(logging.INFO):
        turn = await sim.user_says(ws.alice_dm, ws.alice, "through a broken connection")
        (delivery,) = turn.deliveries
        assert isinstance(delivery, SocketDelivery)
        await delivery.wait_acked()  # a retry, acked over the new connection
        await sim.wait_for(lambda: dropped_as_duplicate(caplog))
        assert not script.hold.is_set()  # the first handling was still streaming
        script.hold.set()
        await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.socket.connects == 2
    assert len(delivery.sent_at) >= 2 and delivery.ack_lost is False
    assert len(lyzr.stream_requests()) == 1
    (reply,) = sim.bot_replies(ws.alice_dm, turn.thread_ts)
    assert reply.text == REPLY


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
@pytest.mark.parametrize("replicas", [1, 2])
async def test_an_ack_reaching_slack_too_late_is_answered_once(
    sim: SlackSimulator,
    lyzr: LyzrServer,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
    replicas: int,
) -> None:
    """The bot acks at once, but the ack reaches Slack after its 3 s: Slack sends the
    envelope again while the first handling still streams (with two replicas, round-robin
    sends the retry to the other one)."""
    ws = sim.workspace
    bots = [await start_bot("socket") for _ in range(replicas)]
    script = reply_script(REPLY, hold_after=2)
    lyzr.enqueue(script)
    sim.socket.ack_delay = 2 * ACK_TIMEOUT
    with caplog.at_level(logging.INFO):
        turn = await sim.user_says(ws.alice_dm, ws.alice, "ack too late")
        (delivery,) = turn.deliveries
        assert isinstance(delivery, SocketDelivery)
        await sim.wait_for(lambda: len(delivery.sent_at) >= 2)
        await sim.wait_for(lambda: dropped_as_duplicate(caplog))
        assert not script.hold.is_set()  # the first handling was still streaming
        script.hold.set()
        await delivery.wait_acked()
        await sim.wait_for(lambda: all(not b.bot.tasks for b in bots))
    assert sim.socket.connects == replicas  # no reconnection: only the ack was late
    assert len(lyzr.stream_requests()) == 1
    (reply,) = sim.bot_replies(ws.alice_dm, turn.thread_ts)
    assert reply.text == REPLY


@pytest.mark.parametrize("sim", [SCALED], indirect=True)
async def test_a_channel_mention_sent_while_the_only_connection_is_down_is_answered_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """A channel mention makes two envelopes, ``app_mention`` and ``message``. The first
    breaks the bot's only connection after reaching it (its ack is lost); the second finds
    no connection open while the bot reconnects, so Slack sends it on its retry schedule,
    and the next envelope written, a retry, breaks the new connection too. Every envelope
    comes again until acked; the bot answers the mention once."""
    ws = sim.workspace
    bot = await start_bot("socket")
    lyzr.enqueue(reply_script(REPLY))
    sim.socket.break_after_next = 2
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "while reconnecting"))
    deliveries = [d for d in turn.deliveries if isinstance(d, SocketDelivery)]
    assert sorted(d.payload["event"]["type"] for d in deliveries) == ["app_mention", "message"]
    assert sorted(len(d.sent_at) for d in deliveries) == [0, 1]  # one sent, one skipped
    for delivery in deliveries:
        await delivery.wait_acked()
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert sim.socket.break_after_next == 0 and sim.socket.connects == 3
    assert len(lyzr.stream_requests()) == 1
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == REPLY
