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
from collections.abc import Callable, Mapping
from typing import Any

from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import CallRecord
from core.ops.tasks import SHUTDOWN
from core.relay import Relay
from core.relay.scheduler import EditScheduler
from tests.adapters.artifact_files import QUICK
from tests.adapters.slack.conftest import ViewFactory, replies, thread_of
from tests.relay.helpers import scripted


class HeldPost:
    """The next ``chat.postMessage`` (that ``match``) held once Slack has applied it: the
    placeholder is in the thread, its ts not yet known to the bot, until ``answer`` is
    set."""

    def __init__(
        self, sim: SlackSimulator, match: Callable[[Mapping[str, Any]], bool] | None = None
    ) -> None:
        self.applied, self.answer = asyncio.Event(), asyncio.Event()
        sim.after_call("chat.postMessage", self._hold, match=match)

    async def _hold(self, _: CallRecord) -> None:
        self.applied.set()
        await self.answer.wait()


async def test_a_status_shown_while_the_placeholder_is_posted_adds_none(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    view = await make_view(thinking="placeholder")
    where = thread_of(sim)
    held = HeldPost(sim)
    thinking = asyncio.create_task(view.set_status(where, "Thinking…"))
    await held.applied.wait()
    await view.set_status(where, "Using search…")  # the agent's progress, meanwhile
    held.answer.set()
    await thinking
    assert [m.text for m in replies(sim, where)] == ["_Thinking…_"]
    await view.set_status(where, None)  # the reply ended without text: nothing stays
    assert replies(sim, where) == []


async def test_a_status_cancelled_while_its_placeholder_is_posted_leaves_none(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    """The relay cancels a progress status still in flight when its reply ends, then
    clears the status: a placeholder that landed meanwhile must be cleared with it."""
    view = await make_view(thinking="placeholder")
    where = thread_of(sim)
    held = HeldPost(sim)
    status = asyncio.create_task(view.set_status(where, "Using search…"))
    await held.applied.wait()
    status.cancel()  # the reply ended: its late progress status is cancelled
    held.answer.set()
    await asyncio.gather(status, return_exceptions=True)
    await view.set_status(where, None)
    assert replies(sim, where) == []


async def test_a_reply_interrupted_while_its_placeholder_is_posted_leaves_none(
    sim: SlackSimulator, make_view: ViewFactory
) -> None:
    """A shutdown interrupting a reply while its "Thinking…" placeholder is on its way: the
    reply ends with its notice, and no placeholder with a Stop button stays behind."""
    view = await make_view(thinking="placeholder")
    where = thread_of(sim)
    held = HeldPost(sim, match=lambda p: "Thinking" in str(p.get("text")))
    relay = Relay(view, EditScheduler(), policy=QUICK)
    reply = asyncio.create_task(relay.deliver(where, scripted([(0.0, "Hello.")])))
    await held.applied.wait()
    reply.cancel(SHUTDOWN)
    held.answer.set()
    await asyncio.gather(reply, return_exceptions=True)
    assert not [m for m in replies(sim, where) if "Thinking" in m.text]
