"""The thread kept alive while nothing new shows (issue 10.2), the turn timeout (issue
18.5), and a first post that waits for the budget as long as the queue is (issue 18.1)."""

from __future__ import annotations

import asyncio

from core.errors import AgentTimeoutError
from core.relay import DEFAULT_NOTICES, Relay, RetryPolicy
from core.surface import BudgetScope
from tests.fake_time import IN_MEMORY
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface

pytestmark = IN_MEMORY

WORKING, THINKING = DEFAULT_NOTICES.working, DEFAULT_NOTICES.thinking
QUEUED = DEFAULT_NOTICES.queued


async def test_a_silent_agent_keeps_the_thread_status_alive_until_text_flows_again() -> None:
    surface = RecordingSurface()
    # Tools run for 130 s mid-reply: "still working" at 5 s of silence, refreshed every
    # 60 s (Slack drops a status after 120 s), cleared when text comes back.
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, "Looking it up"), (130.0, ": found it.")])
    )
    assert outcome.status == "completed"
    assert surface.statuses == [THINKING, WORKING, WORKING, WORKING, None, None]
    assert surface.texts() == ["Looking it up: found it."]


async def test_a_slow_first_token_refreshes_the_thinking_status() -> None:
    surface = RecordingSurface()
    await Relay(surface, SpyScheduler()).deliver(THREAD, scripted([(150.0, "Done.")]))
    # Shown at once, refreshed at 60 and 120 s; the first post clears it by itself.
    assert surface.statuses == [THINKING, THINKING, THINKING, None]


async def test_the_turn_timeout_ends_a_long_stream_with_its_text_and_a_notice() -> None:
    surface = RecordingSurface()
    relay = Relay(surface, SpyScheduler(), turn_timeout=5.0)
    steps = [(1.0, f"w{i} ") for i in range(15)]  # a 15 s reply
    outcome = await relay.deliver(THREAD, scripted(steps))
    assert outcome.status == "failed" and isinstance(outcome.error, AgentTimeoutError)
    assert asyncio.get_running_loop().time() < 15.0  # cut at the timeout, not run to the end
    assert surface.texts()[-1].startswith("w0 w1 w2 w3")
    assert AgentTimeoutError.notice in surface.texts()[-1]


async def test_a_first_post_queued_for_the_budget_waits_and_says_so() -> None:
    """The channel's post budget is taken for ten minutes (a flood ahead of this reply):
    the reply waits with a "queued" status, far beyond ``acquire_timeout``, then posts."""
    scope = BudgetScope("test:post", rate=1 / 600.0)
    surface = RecordingSurface(scopes=[scope])
    scheduler = SpyScheduler()
    await scheduler.acquire([scope], urgent=True, since=0.0)  # the budget's one token, gone
    policy = RetryPolicy(acquire_timeout=120.0, finish_timeout=300.0)
    outcome = await Relay(surface, scheduler, policy=policy).deliver(
        THREAD, scripted([(0.0, "Ready at once, shown in ten minutes.")])
    )
    assert outcome.status == "completed" and outcome.delivered
    assert surface.texts() == ["Ready at once, shown in ten minutes."]
    assert asyncio.get_running_loop().time() >= 590.0
    assert surface.statuses[:2] == [THINKING, QUEUED]
    assert surface.statuses.count(QUEUED) >= 9  # refreshed while it waited
