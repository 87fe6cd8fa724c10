"""Slack's 3-second acknowledgement: nothing slow runs before the ack.

Slack retries an event not acknowledged within 3 s (``X-Slack-Retry-Num``;
docs.slack.dev apis/events-api, "Responding to events"); the simulator models it
(``SimConfig.ack_timeout``, shortened here). bolt's single-workspace authorization calls
``auth.test`` on the first request it serves, before any listener acknowledges it; the
bot checked its token with ``auth.test`` at start-up, so bolt is given that answer.
"""

from __future__ import annotations

import pytest

from adapters.slack.blocks import FEEDBACK_ACTION_ID
from bots.simulators.slack import HttpDelivery, SimConfig, SlackSimulator, SocketDelivery
from bots.simulators.slack.api_views import TRIGGER_LIFETIME
from bots.simulators.slack.blocks import find_action
from tests.bots.discord.slow_redis import SlowRedis
from tests.bots.slack.conftest import Mode, StartBot, ask, mention, reply_script, reply_shown
from tests.servers.lyzr_server import LyzrServer

ACK_TIMEOUT = 0.5  # Slack's 3 s, scaled down
SLOW = 3 * ACK_TIMEOUT  # a Slack Web API answering later than that


@pytest.mark.parametrize("sim", [SimConfig(ack_timeout=ACK_TIMEOUT)], indirect=True)
@pytest.mark.parametrize("mode", ["http", "socket"])
async def test_the_first_event_is_acknowledged_while_slack_is_slow(
    sim: SlackSimulator, start_bot: StartBot, mode: Mode
) -> None:
    await start_bot(mode)
    ws = sim.workspace
    checks = len(sim.calls("auth.test"))
    sim.set_latency("auth.test", SLOW)
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "hi"))
    for delivery in turn.deliveries:  # the message and its app_mention
        if isinstance(delivery, SocketDelivery):
            await delivery.wait_acked(timeout=ACK_TIMEOUT)
            assert len(delivery.sent_at) == 1  # not sent again
        else:
            assert delivery.attempts[0].acked, delivery.attempts[0].failure
    assert len(sim.calls("auth.test")) == checks  # the start-up check is the only one


@pytest.mark.parametrize("sim", [SimConfig(ack_timeout=ACK_TIMEOUT)], indirect=True)
async def test_clicks_and_commands_are_acknowledged_while_redis_is_slow(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, redis_url: str
) -> None:
    """A Redis slower than the trigger's 3 s (the 👎's vote, the reason, the command all
    need it): every interaction is still acknowledged in time, and the "why?" modal opened
    with the click's trigger."""
    async with SlowRedis(redis_url) as redis:
        bot = await start_bot(core={"redis_url": redis.url})
        ws = sim.workspace
        lyzr.enqueue(reply_script("A vague answer."))
        turn = await ask(sim, bot, "hmm")
        reply = await reply_shown(sim, ws.general, turn.thread_ts)
        await sim.wait_for(lambda: find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None)
        redis.delay = TRIGGER_LIFETIME + 0.5
        click = await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=False)
        (opened,) = await sim.wait_for_calls("views.open")
        (view_id,) = sim.store.modals
        submitted = await sim.submit_view(view_id, {"reason": {"reason_text": "Too vague."}})
        command = await sim.slash_command(ws.general, "status")
        redis.delay = 0.0
        for delivery in (click, submitted, command):
            assert isinstance(delivery, HttpDelivery)
            assert delivery.acked, delivery.attempts[0].failure
        assert opened.ok, opened.error  # within the trigger's 3 seconds
