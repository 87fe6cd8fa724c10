"""Feedback controls ride on a completed reply's last final edit (issue 18: an extra edit
after the answer held the conversation's lock up to the finish timeout, and doubled a
flood's drain): no request of their own, recorded first, bounded, last message only.

Fake time (looptime): the budget queues below last minutes of the loop's clock, no real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.relay import Relay
from core.relay.sender import RetryPolicy
from core.surface import BudgetScope, MessageRef, SurfaceLimits
from tests.relay.helpers import Probe, SpyScheduler, scripted
from tests.surfaces import THREAD, FeedbackSurface, RecordingSurface

QUEUE = 200.0  # seconds an edit waits for the budget: past acquire_timeout (120 s)
ANSWER = [(0.0, "All of "), (2.0, "the answer.")]  # a post, then a final edit


class BusyWorkspace(SpyScheduler):
    """Grants at once until ``busy`` is set; then each wait lasts ``QUEUE`` (every other
    reply of the workspace is ahead)."""

    def __init__(self) -> None:
        super().__init__()
        self.busy = False

    async def acquire(self, scopes: Sequence[BudgetScope], *, urgent: bool, since: float) -> None:
        if self.busy:
            await asyncio.sleep(QUEUE)
        await super().acquire(scopes, urgent=urgent, since=since)


def requests(surface: RecordingSurface) -> list[tuple[str, bool]]:
    return [(call.kind, call.final) for call in surface.calls if call.kind in ("post", "edit")]


async def recorded(message: MessageRef) -> bool:
    return True


@pytest.mark.looptime
async def test_controls_cost_no_request_of_their_own() -> None:
    plain, with_controls = FeedbackSurface(), FeedbackSurface()
    await Relay(plain, SpyScheduler()).deliver(THREAD, scripted(ANSWER))
    outcome = await Relay(with_controls, SpyScheduler()).deliver(
        THREAD, scripted(ANSWER), offer_feedback=recorded
    )
    assert requests(with_controls) == requests(plain)
    assert requests(plain)[-1] == ("edit", True) and requests(plain).count(("edit", True)) == 1
    (message_id,) = list(with_controls.messages)
    assert with_controls.offered == [(message_id, "All of the answer.")]
    assert outcome.feedback is not None and outcome.feedback.message_id == message_id
    assert not plain.offered


@pytest.mark.looptime
async def test_the_turn_ends_with_its_final_text_when_the_budget_is_exhausted() -> None:
    """Once the first post is out, every edit waits ``QUEUE`` for the workspace's budget:
    the turn (and the lock its conversation's next message waits for) ends when the
    final text is shown, controls or not."""
    loop = asyncio.get_running_loop()
    ended: list[float] = []
    for offer in (None, recorded):
        surface, scheduler = FeedbackSurface(), BusyWorkspace()
        surface.on_update = lambda *_, busy=scheduler: setattr(busy, "busy", True)
        started = loop.time()
        outcome = await Relay(surface, scheduler).deliver(
            THREAD, scripted(ANSWER), offer_feedback=offer
        )
        assert outcome.status == "completed" and outcome.delivered
        assert (outcome.feedback is not None) == (offer is not None)
        ended.append(loop.time() - started)
    assert ended[1] == ended[0]


@pytest.mark.looptime
async def test_the_final_edit_waits_for_a_saturated_budget_with_its_controls() -> None:
    surface, scheduler = FeedbackSurface(), BusyWorkspace()

    async def record(message: MessageRef) -> bool:
        scheduler.busy = True  # the reply is out; now the workspace's budget is queued
        return True

    outcome = await Relay(surface, scheduler).deliver(
        THREAD, scripted(ANSWER), offer_feedback=record
    )
    assert outcome.status == "completed"
    (message_id,) = list(surface.messages)
    assert surface.offered == [(message_id, "All of the answer.")]
    assert outcome.feedback is not None and outcome.feedback.message_id == message_id


@pytest.mark.looptime
@pytest.mark.parametrize("failure", ["no", "raises", "hangs"])
async def test_a_reply_not_recorded_is_finalised_without_controls(failure: str) -> None:
    surface = FeedbackSurface()

    async def record(message: MessageRef) -> bool:
        if failure == "raises":
            raise ConnectionError("redis is down")
        if failure == "hangs":
            await asyncio.Event().wait()  # bounded by the policy's call timeout
        return False

    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(ANSWER), offer_feedback=record
    )
    assert outcome.status == "completed" and outcome.feedback is None and not surface.offered
    (message,) = surface.messages.values()
    assert message.text == "All of the answer." and message.final


@pytest.mark.looptime
async def test_only_the_last_page_carries_the_controls() -> None:
    limits = SurfaceLimits(max_message_chars=100, min_edit_interval=1.0, max_file_bytes=1,
                           streaming_indicator=" ▍")  # fmt: skip
    surface = FeedbackSurface(limits=limits)
    words = [(0.5, f"word{i:03d} ") for i in range(60)]  # about five pages
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(words), offer_feedback=recorded
    )
    assert len(outcome.messages) > 2
    last = outcome.messages[-1]
    assert [message_id for message_id, _ in surface.offered] == [last.message_id]
    assert outcome.feedback == last
    assert surface.offered[0][1] == surface.messages[last.message_id].text


@pytest.mark.looptime
@pytest.mark.parametrize("ending", ["failed", "cancelled"])
async def test_no_controls_on_a_reply_that_did_not_complete(ending: str) -> None:
    surface = FeedbackSurface()
    cancelled = asyncio.Event()
    steps: list[tuple[float | asyncio.Event, str]] = [(0.0, "Half of ")]
    if ending == "cancelled":
        steps.append((asyncio.Event(), "never"))
        asyncio.get_running_loop().call_later(5.0, cancelled.set)
    error = RuntimeError("agent broke") if ending == "failed" else None
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(steps, error=error), cancelled=cancelled, offer_feedback=recorded
    )
    assert outcome.status == ending
    assert outcome.feedback is None and not surface.offered


@pytest.mark.looptime
async def test_a_final_text_posted_whole_carries_the_controls_then_is_recorded() -> None:
    """The workspace's posting budget is queued from the start: the agent has finished
    before the reply's first post could go, so its one message is posted final, with
    the controls, and recorded once its id is known."""
    surface, scheduler = FeedbackSurface(), BusyWorkspace()
    scheduler.busy = True
    seen: list[tuple[str, list[str]]] = []

    async def record(message: MessageRef) -> bool:
        seen.append((message.message_id, list(surface.messages)))
        return True

    outcome = await Relay(surface, scheduler).deliver(
        THREAD, scripted(ANSWER), offer_feedback=record
    )
    (message_id,) = list(surface.messages)
    assert requests(surface) == [("post", False)]  # a final post: streaming False
    assert surface.messages[message_id].final
    assert surface.offered == [(message_id, "All of the answer.")]
    assert seen == [(message_id, [message_id])]  # recorded once it was there
    assert outcome.feedback is not None and outcome.feedback.message_id == message_id


@pytest.mark.looptime
async def test_the_reply_is_recorded_while_it_streams() -> None:
    """The record is begun as soon as the message is posted (issue 17): in a burst on a
    loaded machine, the record made only once the answer had ended held its final edit
    back, and more than half a flood's replies ended without their controls."""
    surface, probe = FeedbackSurface(), Probe()
    streamed: list[list[str]] = []

    async def record(message: MessageRef) -> bool:
        streamed.append(list(probe.sent))
        return True

    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(ANSWER, probe), offer_feedback=record
    )
    assert streamed == [["All of "]]  # recorded once, before the agent's last text came
    (message_id,) = list(surface.messages)
    assert surface.offered == [(message_id, "All of the answer.")]
    assert outcome.feedback is not None and outcome.feedback.message_id == message_id


@pytest.mark.looptime
async def test_a_record_slower_than_the_finish_still_gets_its_controls() -> None:
    """Redis slow, not down: the record outlasts what is left of it when the answer ends by
    more than the reply's finishing time. The final edit waits for it (a bounded call, not
    counted against that time) instead of being cut short and left to the recovery
    reapers without controls (issue 17)."""
    finish, slow = 3.0, 10.0  # the reply's finish timeout; how long Redis takes
    surface = FeedbackSurface()

    async def record(message: MessageRef) -> bool:
        await asyncio.sleep(slow)
        return True

    relay = Relay(surface, SpyScheduler(), policy=RetryPolicy(finish_timeout=finish))
    outcome = await relay.deliver(THREAD, scripted(ANSWER), offer_feedback=record)
    assert outcome.status == "completed" and outcome.delivered and not outcome.undelivered
    (message_id,) = list(surface.messages)
    assert surface.messages[message_id].final
    assert surface.offered == [(message_id, "All of the answer.")]
    assert outcome.feedback is not None and outcome.feedback.message_id == message_id
