"""The feedback controls on a finished reply wait for the platform's budget like any other
edit that must land (found by bench_scale at N = 1,000: 218 replies finished without their
buttons, the edit giving up after ``acquire_timeout`` in a saturated workspace).

Fake time (looptime): the budget queue below lasts 200 s of the loop's clock, no real time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from core.relay import Relay
from core.surface import BudgetScope, MessageRef
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface

QUEUE = 200.0  # seconds the feedback edit waits for the budget: past acquire_timeout (120 s)


class FeedbackSurface(RecordingSurface):
    """A surface with feedback controls (as Slack's and Discord's have)."""

    def __init__(self) -> None:
        super().__init__()
        self.offered: list[tuple[str, str]] = []

    async def offer_feedback(self, message: MessageRef, text: str) -> None:
        self.offered.append((message.message_id, text))


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


@pytest.mark.looptime
async def test_feedback_controls_wait_for_a_saturated_budget_instead_of_giving_up() -> None:
    surface, scheduler = FeedbackSurface(), BusyWorkspace()

    async def record(message: MessageRef) -> bool:
        scheduler.busy = True  # the reply is out; now the workspace's budget is queued
        return True

    relay = Relay(surface, scheduler)
    outcome = await relay.deliver(
        THREAD, scripted([(0.0, "All of the answer.")]), offer_feedback=record
    )
    assert outcome.status == "completed"
    (message_id,) = list(surface.messages)
    assert surface.offered == [(message_id, "All of the answer.")]
    assert outcome.feedback is not None and outcome.feedback.message_id == message_id
