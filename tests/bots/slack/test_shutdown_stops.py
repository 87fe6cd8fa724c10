"""Native streams whose final stop waits in the paced queue (chat.stopStream is Tier 2)
when the bot shuts down: sent at the queue's pace within the shutdown's budget, and the
ones that cannot be are left to crash recovery, which ends them after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.slack.blocks import FEEDBACK_ACTION_ID
from adapters.slack.final_mark import is_marked
from adapters.slack.safe_markdown import to_safe_markdown
from bots.simulators.slack import Message, SimConfig, SlackSimulator
from bots.simulators.slack.blocks import find_action
from bots.slack.app import SlackService
from core.runtime import Runtime
from tests.bots.slack.conftest import (
    StartBot,
    core_settings,
    mention,
    reply_script,
    slack_settings,
)
from tests.servers.lyzr_server import LyzrServer


class Clock:
    """The simulator's clock: the loop's, plus what a test moved it ahead (no sleep)."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def __call__(self) -> float:
        return asyncio.get_running_loop().time() + self.skipped


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def sim(clock: Clock) -> AsyncIterator[SlackSimulator]:
    """The Slack simulator on a clock the test can move ahead (a stream's expiry)."""
    async with SlackSimulator(SimConfig(), clock=clock) as simulator:
        yield simulator


def ended_whole(message: Message, text: str) -> bool:
    """The reply's final state: its text, no longer streaming nor shown broken, with the
    mark crash recovery reads and the feedback controls."""
    return (
        message.text == to_safe_markdown(text)
        and not message.streaming
        and not message.stream_failed
        and is_marked(message.to_api(metadata=True))
        and find_action(message.blocks, FEEDBACK_ACTION_ID) is not None
    )


async def test_stops_waiting_at_shutdown_are_sent_at_the_queues_pace(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str
) -> None:
    # Two replies end while stops meet a 429 (Retry-After 3 s): both stops wait in the
    # queue, and the bot is shut down at once. aclose() used to cancel the queue: both
    # streams were left to expire on Slack's side, shown broken, unmarked, without 👍 / 👎.
    ws = sim.workspace
    texts = ["The first reply, ended.", "The second reply, ended too."]
    for text in texts:
        lyzr.enqueue(reply_script(text))
    settings = core_settings(lyzr, redis_url, namespace)
    slack = slack_settings(sim, "http", streaming="native", start_per_minute=120.0)
    async with (
        Runtime(settings, namespace=namespace) as runtime,
        SlackService(settings, slack, runtime=runtime) as service,
    ):
        sim.events_url = service.events_url
        sim.fail_next("chat.stopStream", "ratelimited", retry_after=3)
        queue = service.surface.native.stops
        turns = []
        for count in (1, 2):  # one after the other: the second finds the queue busy
            turns.append(await sim.user_says(ws.general, ws.alice, mention(sim, "q")))
            await sim.wait_for(lambda c=count: len(queue) == c)  # type: ignore[misc]
            await sim.wait_for(lambda: not service.bot.tasks)
    messages = [sim.bot_replies(ws.general, turn.thread_ts)[0] for turn in turns]
    for message in messages:
        assert any(ended_whole(message, text) for text in texts), message.text
    stops = sim.calls("chat.stopStream")
    assert [c.error for c in stops] == ["ratelimited", None, None]
    # Paced: Retry-After honoured, then the queue's interval (60 / 120 s).
    assert stops[1].time >= stops[0].time + 3
    assert stops[2].time >= stops[1].time + 0.5


@pytest.mark.parametrize("expired", [False, True], ids=["streaming", "expired"])
async def test_stops_that_cannot_be_sent_before_the_shutdown_ends_after_a_restart(
    expired: bool,
    sim: SlackSimulator,
    clock: Clock,
    lyzr: LyzrServer,
    redis_url: str,
    namespace: str,
    start_bot: StartBot,
) -> None:
    # The stop meets a 429 whose Retry-After outlasts the shutdown's budget. The reply's
    # record had been dropped when its final edit returned (the stop queued), so no reaper
    # knew the message: it stayed streaming until Slack expired it, then shown broken,
    # unmarked, without 👍 / 👎, for good. Now the stop is left to crash recovery, and the
    # restarted bot's reaper ends the stream with the final edit: it stops the stream and
    # rewrites it, or (Slack expired it before the restart) rewrites the broken stream.
    ws = sim.workspace
    text = "The whole reply, with its last words."
    lyzr.enqueue(reply_script(text))
    # The first replica's reaper sweeps once, at its start: the restart finishes the reply.
    settings = core_settings(lyzr, redis_url, namespace).model_copy(
        update={"shutdown_grace": 0.2, "recovery_interval": 3600.0}
    )
    slack = slack_settings(sim, "http", streaming="native")
    async with (
        Runtime(settings, namespace=namespace) as runtime,
        SlackService(settings, slack, runtime=runtime) as service,
    ):
        sim.events_url = service.events_url
        sim.fail_next("chat.stopStream", "ratelimited", retry_after=600)
        turn = await sim.user_says(ws.general, ws.alice, mention(sim, "answer"))
        await sim.wait_for(lambda: len(service.surface.native.stops) == 1)
        await sim.wait_for(lambda: not service.bot.tasks)
    (message,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert message.text == to_safe_markdown(text) and message.streaming  # the stop waited
    assert [c.error for c in sim.calls("chat.stopStream")] == ["ratelimited"]
    if expired:  # idle past Slack's timeout before the restart: shown broken
        clock.skipped += sim.config.stream_idle_timeout + 1
        assert sim.message(ws.general, message.ts) is message and message.stream_failed

    await start_bot(streaming="native", core={"recovery_interval": 0.1})  # the restart
    await sim.wait_for(lambda: ended_whole(message, text), timeout=10)
    assert len(sim.bot_replies(ws.general, turn.thread_ts)) == 1  # no notice: it was whole
