"""The relay when things fail: the agent, the platform (429, deleted message, errors), time.

Nothing is lost, nothing crashes, nothing hangs: every case ends with an outcome that says
what the thread shows. Fake time (looptime), so backoffs and Retry-After pauses are instant.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from core.errors import (
    AgentError,
    AgentServerError,
    AgentTimeoutError,
    MessageGone,
    MessageTooLong,
    RateLimited,
    SurfaceError,
)
from core.models import AgentStream
from core.relay import DEFAULT_NOTICES, Relay, RetryPolicy
from core.surface import BudgetScope
from tests.fake_time import IN_MEMORY
from tests.relay.helpers import Probe, SpyScheduler, even, scripted
from tests.surfaces import DEFAULT_LIMITS, THREAD, RecordingSurface

pytestmark = IN_MEMORY

INDICATOR = DEFAULT_LIMITS.streaming_indicator


def failure_notice(error: AgentError) -> str:
    return DEFAULT_NOTICES.failure(error)


async def test_agent_error_mid_stream_keeps_partial_and_adds_notice() -> None:
    surface = RecordingSurface()
    error = AgentServerError("boom", status=500)
    steps = [(0.0, "Partial "), (0.5, "answer")]
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, scripted(steps, error=error))

    assert outcome.status == "failed" and outcome.error is error
    assert outcome.text == "Partial answer"
    assert surface.texts() == [f"Partial answer\n\n{failure_notice(error)}"]
    assert "The agent reported an error." in surface.texts()[0]
    assert surface.calls_of("edit")[-1].final
    assert surface.statuses[-1] is None


async def test_unexpected_exception_from_the_agent_is_a_failure_not_a_crash() -> None:
    surface = RecordingSurface()
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, "Some text")], error=ValueError("bad token"))
    )
    assert outcome.status == "failed"
    assert isinstance(outcome.error, AgentError) and "bad token" in str(outcome.error)
    assert surface.texts()[0].startswith("Some text\n\n⚠️")


async def test_error_before_any_text_posts_the_notice_alone() -> None:
    surface = RecordingSurface()
    error = AgentTimeoutError("no first token")
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, scripted([], error=error))
    assert outcome.status == "failed"
    assert surface.texts() == [failure_notice(error)]


async def test_turn_timeout_closes_the_stream_and_reports_a_timeout() -> None:
    surface = RecordingSurface()
    probe = Probe()
    steps = [(0.0, "Thinking out loud"), (3600.0, " never sent")]
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(steps, probe), turn_timeout=30.0
    )
    assert outcome.status == "failed" and isinstance(outcome.error, AgentTimeoutError)
    assert probe.closed and probe.closed_at == 30.0
    assert probe.sent == ["Thinking out loud"]
    assert surface.texts() == [f"Thinking out loud\n\n{failure_notice(outcome.error)}"]


async def test_rate_limited_edits_pause_then_retry_and_final_is_complete() -> None:
    scope = BudgetScope("test:channel", rate=10.0)
    surface = RecordingSurface(scopes=[scope])
    scheduler = SpyScheduler()
    surface.fail("edit", lambda: RateLimited(2.5, scope="test:channel"), times=3)
    text = "word " * 200
    outcome = await Relay(surface, scheduler).deliver(
        THREAD, scripted(even(text, pieces=40, every=0.1))
    )

    assert outcome.status == "completed" and outcome.delivered
    assert surface.texts() == [text]
    assert len(scheduler.rate_limits) == 3  # every 429 reported to the scheduler
    edits = surface.calls_of("edit")
    for failed, retry in itertools.pairwise(edits):
        if isinstance(failed.error, RateLimited):
            assert failed.finished is not None
            assert retry.started >= failed.finished + 2.5  # paused for Retry-After


async def test_rate_limited_final_edit_is_retried_until_it_gets_through() -> None:
    surface = RecordingSurface()
    scheduler = SpyScheduler()
    steps = [(0.0, "Short reply."), (0.2, " Done.")]

    async def deliver() -> None:
        outcome = await Relay(surface, scheduler).deliver(THREAD, scripted(steps))
        assert outcome.delivered and surface.texts() == ["Short reply. Done."]

    # Once the first text is posted, every edit (the final one) is refused four times.
    surface.fail("edit", lambda: RateLimited(1.0), times=4)
    await deliver()
    finals = [c for c in surface.calls_of("edit") if c.final]
    assert [c.error is None for c in finals] == [False] * 4 + [True]
    gaps = [b.started - a.started for a, b in itertools.pairwise(finals)]
    assert all(gap >= 1.0 for gap in gaps)


async def test_deleted_message_continues_in_a_new_one() -> None:
    surface = RecordingSurface()

    async def stream_with_deletion() -> AsyncIterator[AgentStream]:
        async for chunk in scripted(even("alpha beta gamma delta " * 10, pieces=20, every=0.2)):
            if chunk.chunk_index == 10:
                surface.delete("m1")  # a moderator deletes the reply while it streams
            yield chunk

    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, stream_with_deletion())
    assert outcome.status == "completed"
    assert surface.texts() == ["alpha beta gamma delta " * 10]
    assert [m.message_id for m in outcome.messages] == ["m2"]
    assert any(isinstance(c.error, MessageGone) for c in surface.calls_of("edit"))


async def test_deleted_message_at_the_final_edit_is_reposted() -> None:
    surface = RecordingSurface()
    surface.fail("edit", MessageGone("m1"), times=1)
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, "one"), (0.1, " two")])
    )
    assert surface.texts()[-1] == "one two" and outcome.messages[-1].message_id == "m2"


async def test_generic_failures_retried_with_backoff_then_succeed() -> None:
    surface = RecordingSurface()
    surface.fail("post", SurfaceError("internal_error"), times=2)  # fail twice, then work
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, "Hello"), (2.0, " again")])
    )
    posts = surface.calls_of("post")
    assert [p.error is None for p in posts] == [False, False, True]
    assert posts[1].started - posts[0].finished >= 0.5  # type: ignore[operator]
    assert posts[2].started - posts[1].finished >= 1.0  # type: ignore[operator]
    assert outcome.delivered and surface.texts() == ["Hello again"]


async def test_a_failing_surface_neither_crashes_nor_hangs() -> None:
    surface = RecordingSurface(latency=0.5)
    for kind in ("post", "edit", "status", "upload", "structured"):
        surface.fail(kind, SurfaceError("platform down"), times=None)
    loop = asyncio.get_running_loop()
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even("text " * 100, pieces=50, every=0.1))
    )
    assert outcome.status == "completed"  # the agent finished; the surface did not
    assert not outcome.delivered and outcome.undelivered
    assert outcome.text == "text " * 100
    assert loop.time() < RetryPolicy().finish_timeout + 60  # bounded, not stuck


async def test_a_surface_raising_foreign_exceptions_is_contained() -> None:
    surface = RecordingSurface()
    surface.fail("edit", RuntimeError("adapter bug"), times=2)
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even("x y z " * 30, pieces=10, every=0.5))
    )
    assert outcome.delivered and surface.texts() == ["x y z " * 30]


async def test_hung_surface_call_times_out() -> None:
    surface = RecordingSurface(edit_latency=3600.0)  # every edit hangs for an hour
    policy = RetryPolicy(call_timeout=5.0, retry_for=5.0)  # a hung call is an outage
    outcome = await Relay(surface, SpyScheduler(), policy=policy).deliver(
        THREAD, scripted([(0.0, "Hi"), (0.5, " there")])
    )
    # The final text could not be edited in: it was posted as a new message instead.
    edits = surface.calls_of("edit")
    assert len(edits) == 2 and all(c.finished is None for c in edits)  # both abandoned
    assert surface.texts()[-1] == "Hi there" and outcome.delivered
    assert asyncio.get_running_loop().time() < 60


async def test_message_too_long_cuts_smaller_pages() -> None:
    """The platform counts differently than render() suggested: pages get smaller."""
    surface = RecordingSurface()
    surface.fail("edit", MessageTooLong("msg_too_long"), times=1)
    text = "lorem ipsum dolor sit amet\n" * 200
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even(text, pieces=100, every=0.05))
    )
    assert outcome.delivered and "".join(surface.texts()) == text


def cut_short(reason: str) -> AsyncIterator[AgentStream]:
    """A reply the model ended early: OpenAI's last chunk says ``finish_reason`` "length"
    (max tokens reached) or "content_filter" (OpenAI API reference, the chat completion
    chunk object); the OpenAI-compatible agent keeps it on the final chunk's metadata."""

    async def stream() -> AsyncIterator[AgentStream]:
        yield AgentStream(content="The first half", delta="The first half", chunk_index=0)
        yield AgentStream(done=True, metadata={"finish_reason": reason})

    return stream()


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("length", "maximum length"),
        ("content_filter", "content filter"),
        ("tool_calls", "use a tool"),
        ("function_call", "use a tool"),
        ("abort", "model server stopped"),
    ],
)
async def test_a_reply_the_model_cut_short_says_so(reason: str, said: str) -> None:
    surface = RecordingSurface()
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, cut_short(reason))
    assert outcome.status == "completed" and outcome.text == "The first half"
    (shown,) = surface.texts()
    assert shown.startswith("The first half\n\n⚠️") and said in shown


async def test_a_reply_that_ended_normally_has_no_notice() -> None:
    surface = RecordingSurface()
    await Relay(surface, SpyScheduler()).deliver(THREAD, cut_short("stop"))
    assert surface.texts() == ["The first half"]
