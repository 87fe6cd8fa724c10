"""A reply whose first post is still in flight when the agent's stream ends, on a Slack
slower than the reply's patience for its finish (a busy machine, a slow Slack): the post
is let complete, its message then gets the final text. Cut off, that post landed after
the bot had given up on it and stayed streaming for ever, with no record naming it (the
flood under CPU load, issue 18), or did not land and the mention got no answer at all."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from adapters.slack.blocks import FEEDBACK_ACTION_ID, STOP_ACTION_ID
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from core.texts import THANKS_UP
from tests.bots.slack.conftest import StartBot, mention, reply_script
from tests.retries import patch_retry_policy
from tests.servers.lyzr_server import LyzrServer

POST_LATENCY = 1.5  # how long Slack takes to answer a post here
FINISH_TIMEOUT = 0.3  # the reply's patience once the agent's stream ended: far shorter


async def test_a_post_in_flight_when_the_finish_runs_out_is_finished_all_the_same(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_retry_policy(monkeypatch, finish_timeout=FINISH_TIMEOUT)
    bot = await start_bot()
    ws = sim.workspace
    for method in ("chat.postMessage", "chat.startStream"):
        sim.set_latency(method, POST_LATENCY)
    lyzr.enqueue(reply_script("The whole answer.", delay=0.05))
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "quick?"))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    await sim.wait_for(lambda: not bot.bot.tasks)

    def finished() -> bool:
        replies = sim.bot_replies(ws.general, turn.thread_ts)
        return bool(replies) and not any(
            m.streaming or "▍" in m.text or find_action(m.blocks, STOP_ACTION_ID) is not None
            for m in replies
        )

    await sim.wait_for(finished, timeout=10)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text == "The whole answer."
    assert len(lyzr.stream_requests()) == 1


async def test_a_final_edit_left_to_the_reapers_carries_the_feedback_controls(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply's first post lands, but Slack fails its final edit (503) until the reply's
    patience for its finish has run out: that edit is left to the recovery reapers, and the
    one they make still shows 👍 / 👎 under the complete answer."""
    patch_retry_policy(monkeypatch, finish_timeout=FINISH_TIMEOUT)
    bot = await start_bot()
    ws = sim.workspace

    def final(params: Mapping[str, Any]) -> bool:
        return "▍" not in str(params.get("text") or "")

    outage = sim.fail_next("chat.update", "service_unavailable", status=503, match=final)
    lyzr.enqueue(reply_script("The whole answer.", delay=0.05))
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "quick?"))
    await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
    await sim.wait_for(lambda: not bot.bot.tasks)

    def finished() -> bool:
        (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
        return (
            reply.text == "The whole answer." and find_action(reply.blocks, STOP_ACTION_ID) is None
        )

    await sim.wait_for(finished, timeout=10)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert outage.times == 0  # the owner's final edit met the outage
    assert find_action(reply.blocks, FEEDBACK_ACTION_ID) is not None
    assert len(lyzr.stream_requests()) == 1
    # The controls work: the reply was recorded for its votes while it streamed.
    await sim.click_feedback(ws.general, reply.ts, FEEDBACK_ACTION_ID, positive=True, user=ws.bob)
    await sim.wait_for(lambda: len(sim.store.ephemerals) == 1)
    (note,) = sim.store.ephemerals
    assert note.user == ws.bob and note.text == THANKS_UP.replace("**", "*")
