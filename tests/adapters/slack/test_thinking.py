"""Two statuses of one reply racing for the "Thinking…" placeholder.

The relay shows its thinking status and, as tasks of their own, the agent's progress
statuses (a tool call: "Using search…"); the pump reads the agent while the first is on its
way, and both wait for the reply's recovery record before showing anything. Where Slack
refuses thread statuses, a status is a placeholder message: the second status must not post
a second one while the first is in flight, or one of them is tracked by nobody and stays in
the thread for good, "Thinking…" and a Stop button under a finished reply.
"""

from __future__ import annotations

import asyncio

from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import CallRecord
from tests.adapters.slack.conftest import ViewFactory, replies, thread_of


async def test_a_status_shown_while_the_placeholder_is_posted_adds_none(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    view = await make_view(thinking="placeholder")
    where = thread_of(sim)
    applied, answer = asyncio.Event(), asyncio.Event()

    async def hold(_: CallRecord) -> None:  # the placeholder is in the thread, its ts unknown
        applied.set()
        await answer.wait()

    sim.after_call("chat.postMessage", hold)
    thinking = asyncio.create_task(view.set_status(where, "Thinking…"))
    await applied.wait()
    await view.set_status(where, "Using search…")  # the agent's progress, meanwhile
    answer.set()
    await thinking
    assert [m.text for m in replies(sim, where)] == ["_Thinking…_"]
    await view.set_status(where, None)  # the reply ended without text: nothing stays
    assert replies(sim, where) == []
