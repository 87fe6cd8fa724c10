"""Slack down while the bot answers: the reply outlives the outage (``sim.start_outage``:
a gateway's 503 page for every Web API call, see bots/simulators/slack/outage.py).

Time is scaled: the outage lasts a tenth of the scenario's 10 s, and the relay's backoff
(``RetryPolicy``: 0.5 s doubling up to 8 s) is shrunk in proportion, so the outage still
outlasts the old retries (four tries, ~7 s; here ~0.75 s) and ends between two tries, as at
full scale, without the test waiting out 10 s plus an 8 s backoff.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from tests.bots.slack.conftest import StartBot, mention, reply_script
from tests.retries import patch_retry_policy, scaled_backoff
from tests.servers.lyzr_server import LyzrServer

SCALE = 0.1  # the scenario's times (and the relay's backoff), this many times the real ones
# The scenario: longer than the old retries (~7 s), far shorter than the new (300 s).
OUTAGE = 10.0 * SCALE


async def test_a_mention_during_an_outage_is_answered_once_slack_is_back(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_retry_policy(monkeypatch, **scaled_backoff(SCALE))
    await start_bot()
    ws = sim.workspace
    # A bot that has answered before: bolt checked the token once (auth.test) and keeps it.
    lyzr.enqueue(reply_script("Hello."))
    first = await sim.user_says(ws.general, ws.alice, mention(sim, "hi"))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, first.thread_ts)), timeout=10)
    lyzr.enqueue(reply_script("The answer, at last."))
    sim.start_outage("5xx")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "are you there?"))
    await sim.wait_for(lambda: bool(sim.calls("chat.postMessage", ok=False)), timeout=10)
    await asyncio.sleep(OUTAGE)  # how long Slack stays down (not a synchronisation)
    sim.end_outage()

    def answered() -> bool:
        replies = sim.bot_replies(ws.general, turn.thread_ts)
        return bool(replies) and find_action(replies[-1].blocks, STOP_ACTION_ID) is None

    await sim.wait_for(answered, timeout=30)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == "The answer, at last."
    assert sim.thread_status(ws.general, turn.thread_ts) is None
