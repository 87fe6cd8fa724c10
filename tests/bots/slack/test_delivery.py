"""Event delivery: signatures, retries, replicas sharing Redis, health checks, shutdown."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.slack import HttpDelivery, SlackSimulator, SocketDelivery
from bots.simulators.slack.blocks import find_action
from tests.bots.slack.conftest import StartBot, mention, reply_script
from tests.servers.lyzr_server import LyzrServer


async def test_bad_signature_is_refused_with_401(sim: SlackSimulator, start_bot: StartBot) -> None:
    bot = await start_bot()
    ws = sim.workspace
    event = sim.events_for(sim.user_message(ws.alice_dm, ws.alice, "hi"))[0]
    body = json.dumps(sim.envelope(event)).encode()
    delivery = HttpDelivery(bot.events_url, body, "application/json")
    forged = await sim.http.attempt(delivery, secret="not-the-secret")
    stale = await sim.http.attempt(delivery, timestamp=1_000_000_000)
    assert (forged.status, stale.status) == (401, 401)
    verified = await sim.verify_url(challenge="c-1")
    assert json.loads(verified.last.body) == {"challenge": "c-1"}


async def test_health_checks_in_both_modes(sim: SlackSimulator, start_bot: StartBot) -> None:
    http = await start_bot("http")
    socket = await start_bot("socket")
    async with aiohttp.ClientSession() as session:
        for bot, mode in ((http, "http"), (socket, "socket")):
            async with session.get(bot.health_url) as response:
                report = await response.json()
                assert response.status == 200
                assert report["ok"] and report["mode"] == mode
                assert report["team"] == sim.workspace.team_id
        async with session.post(socket.url + "/slack/events", data=b"{}") as response:
            assert response.status in (404, 405)  # Socket Mode serves no events over HTTP
    assert sim.calls("apps.connections.open")[0].ok


async def test_a_retried_event_is_answered_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot()
    turn = await sim.user_says(ws.alice_dm, ws.alice, "only once please")
    (delivery,) = turn.deliveries
    await sim.redeliver(delivery, "http_timeout")  # Slack thought the ack was late
    await sim.redeliver(delivery, "http_timeout")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert isinstance(delivery, HttpDelivery)
    assert [a.retry_num for a in delivery.attempts] == [0, 1, 2]
    assert all(a.acked for a in delivery.attempts)
    assert len(lyzr.stream_requests()) == 1
    assert len(sim.bot_replies(ws.alice_dm, turn.thread_ts)) == 1


async def test_socket_mode_redelivery_is_answered_once(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    bot = await start_bot("socket")
    turn = await sim.user_says(ws.alice_dm, ws.alice, "socket once")
    (delivery,) = turn.deliveries
    assert isinstance(delivery, SocketDelivery)
    await delivery.wait_acked()
    await sim.redeliver(delivery)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: len(sim.socket.received) >= 2)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert len(lyzr.stream_requests()) == 1


async def test_two_replicas_answer_a_retry_once_and_a_thread_in_order(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    a = await start_bot()
    b = await start_bot(route=False)
    # A retry routed to the other replica by the load balancer: still answered once.
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "first"))
    for delivery in turn.deliveries:
        await sim.redeliver(delivery, url=b.events_url)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: not a.bot.tasks and not b.bot.tasks)
    assert len(lyzr.stream_requests()) == 1

    # Two messages in one thread, each to a different replica, the first still streaming:
    # the second waits for it (the lock in Redis), so the replies come in order.
    lyzr.enqueue(reply_script("slow answer " * 12, delay=0.05), reply_script("second answer"))
    thread = turn.thread_ts
    await sim.user_says(ws.general, ws.alice, mention(sim, "slow"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 2)
    sim.events_url = b.events_url
    await sim.user_says(ws.general, ws.bob, mention(sim, "quick"), thread_ts=thread)
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, thread)) == 3)
    await sim.wait_for(lambda: not a.bot.tasks and not b.bot.tasks)

    replies = sim.bot_replies(ws.general, thread)
    assert [r.text for r in replies[1:]] == ["slow answer " * 12, "second answer"]
    slow_final = max(c.time for c in sim.calls("chat.update") if c.params["ts"] == replies[1].ts)
    second_posted = next(
        c.time for c in sim.calls("chat.postMessage") if c.response.get("ts") == replies[2].ts
    )
    assert second_posted >= slow_final  # the second reply began after the first ended
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["first", "slow", "quick"]
    sessions = {r.json["session_id"] for r in lyzr.stream_requests()}
    assert len(sessions) == 1


async def test_shutdown_finishes_or_stops_replies_in_flight(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str
) -> None:
    from bots.slack.app import SlackService
    from core.runtime import Runtime
    from tests.bots.slack.conftest import core_settings, slack_settings

    ws = sim.workspace
    # The last word is held: the reply (20 s) is still streaming at the shutdown.
    lyzr.enqueue(reply_script("never ending " * 200, delay=0.05, hold_after=399))
    settings = core_settings(lyzr, redis_url).model_copy(update={"shutdown_grace": 0.2})
    async with Runtime(settings, namespace=namespace) as runtime:
        slack = slack_settings(sim, "http")
        async with SlackService(settings, slack, runtime=runtime) as bot:
            sim.events_url = bot.events_url
            turn = await sim.user_says(ws.general, ws.alice, mention(sim, "go on"))
            await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
        assert not bot.bot.tasks
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text.startswith("never ending") and reply.text.endswith(
        "_The bot is restarting; this reply was interrupted. Please ask again._"
    )
    assert find_action(reply.blocks, STOP_ACTION_ID) is None
    await asyncio.wait_for(lyzr.disconnected.wait(), 20)  # the agent's stream was closed


async def test_socket_mode_refresh_requested_reconnects_and_keeps_answering(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Slack asks a Socket Mode client to reconnect (``disconnect``, ``refresh_requested``)
    from time to time: the bot opens a new connection, and the next message is answered
    once."""
    ws = sim.workspace
    bot = await start_bot("socket")
    await sim.socket.send_disconnect("refresh_requested")
    await sim.wait_for(lambda: sim.socket.connects == 2 and len(sim.socket.connections) == 1)
    turn = await sim.user_says(ws.alice_dm, ws.alice, "after the refresh")
    await sim.wait_for(lambda: len(sim.bot_replies(ws.alice_dm, turn.thread_ts)) == 1)
    await sim.wait_for(lambda: not bot.bot.tasks)
    assert len(lyzr.stream_requests()) == 1


@pytest.mark.parametrize("reasons", [("warning", "refresh_requested"), ("too_many_websockets",)])
async def test_a_reply_streaming_through_a_socket_refresh_completes_and_is_not_asked_twice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, reasons: tuple[str, ...]
) -> None:
    """Slack refreshes the Socket Mode connection while a reply streams (``warning`` ~10 s
    before it closes, then ``refresh_requested``; or ``too_many_websockets``), and sends the
    event again over the new connection (its ack was lost with the old one): the reply
    completes once, and the agent is asked once."""
    ws = sim.workspace
    bot = await start_bot("socket")
    script = reply_script("one two three four five six", hold_after=2)
    lyzr.enqueue(script)
    turn = await sim.user_says(ws.alice_dm, ws.alice, "through the refresh")
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.alice_dm, turn.thread_ts)))
    for count, reason in enumerate(reasons, start=2):
        await sim.socket.send_disconnect(reason)
        await sim.wait_for(lambda c=count: sim.socket.connects == c)  # type: ignore[misc]
    await sim.wait_for(lambda: len(sim.socket.connections) == 1)  # the old one closed
    (delivery,) = turn.deliveries
    await sim.redeliver(delivery)  # retry_attempt 1, over the new connection
    await sim.wait_for(lambda: len(sim.socket.received) >= 2)  # acked again
    script.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks)
    (reply,) = sim.bot_replies(ws.alice_dm, turn.thread_ts)
    assert reply.text == "one two three four five six"
    assert len(lyzr.stream_requests()) == 1


async def test_socket_mode_switched_off_is_one_clear_error_line(
    sim: SlackSimulator, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    """``link_disabled``: Socket Mode was switched off in the app's settings. slack-sdk
    only reconnects; the operator gets one line naming the switch."""
    await start_bot("socket")
    with caplog.at_level(logging.WARNING):
        await sim.socket.send_disconnect("link_disabled")
        await sim.wait_for(lambda: sim.socket.connects == 2)
    lines = [r for r in caplog.records if "link_disabled" in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert "Enable Socket Mode" in lines[0].getMessage()
