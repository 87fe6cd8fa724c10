"""Stopping a reply: a Stop button (event) or an interrupt (task cancellation) closes the
agent's stream for real and leaves the partial text with a "stopped" notice."""

from __future__ import annotations

import asyncio

import pytest

from core.ops.tasks import SHUTDOWN, by_shutdown
from core.relay import DEFAULT_NOTICES, Relay
from tests.fake_time import IN_MEMORY
from tests.relay.helpers import Probe, SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface

pytestmark = IN_MEMORY

STOPPED = DEFAULT_NOTICES.stopped
STEPS = [(0.5, f"part{i} ") for i in range(100)]  # one chunk every 0.5 s for 50 s


async def test_stop_event_closes_the_stream_and_keeps_the_partial_text() -> None:
    surface = RecordingSurface()
    probe = Probe()
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(3.2, stop.set)
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(STEPS, probe), cancelled=stop
    )

    assert outcome.status == "cancelled" and outcome.error is None
    assert probe.closed and probe.closed_at == 3.2  # the generator's finally ran, at once
    assert len(probe.sent) == 6  # nothing was read after the stop
    partial = "".join(probe.sent)
    assert outcome.text == partial
    assert surface.texts() == [f"{partial}\n\n{STOPPED}"]
    assert surface.calls_of("edit")[-1].final
    assert surface.statuses[-1] is None


async def test_task_cancellation_closes_the_stream_and_finalises() -> None:
    surface = RecordingSurface()
    probe = Probe()
    relay = Relay(surface, SpyScheduler())
    task = asyncio.create_task(relay.deliver(THREAD, scripted(STEPS, probe)))
    await asyncio.sleep(2.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert probe.closed and probe.closed_at == 2.2
    partial = "".join(probe.sent)
    assert partial == "part0 part1 part2 part3 "
    assert surface.texts() == [f"{partial}\n\n{STOPPED}"]
    assert surface.calls_of("edit")[-1].final
    assert surface.statuses[-1] is None


async def test_a_shutdown_cancel_ends_the_reply_with_the_interrupted_notice() -> None:
    """The reason travels with the cancel (``SHUTDOWN``), not through a copy of the relay:
    the same relay ends a plainly cancelled reply "stopped" and keeps its own notices."""
    interrupted = "_Interrupted: ask again._"
    own = RecordingSurface()
    relay = Relay(own, SpyScheduler())
    ended: list[list[str]] = []
    for reason in (SHUTDOWN, None):
        surface = RecordingSurface()
        task = asyncio.create_task(
            relay.deliver(
                THREAD, scripted(STEPS, Probe()), surface=surface, interrupted_notice=interrupted
            )
        )
        await asyncio.sleep(2.2)
        task.cancel(reason)
        with pytest.raises(asyncio.CancelledError) as cancel:
            await task
        assert by_shutdown(cancel.value) is (reason is not None)  # re-raised as it came
        ended.append(surface.texts())

    partial = "part0 part1 part2 part3 "
    assert ended == [[f"{partial}\n\n{interrupted}"], [f"{partial}\n\n{STOPPED}"]]
    assert relay.notices is DEFAULT_NOTICES and own.calls == []


async def test_stop_before_any_text_posts_only_the_notice() -> None:
    surface = RecordingSurface()
    probe = Probe()
    stop = asyncio.Event()
    stop.set()
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(10.0, "late")], probe), cancelled=stop
    )
    assert outcome.status == "cancelled" and outcome.text == ""
    assert probe.sent == []
    assert surface.texts() == [STOPPED]


async def test_stop_after_the_stream_ended_changes_nothing() -> None:
    surface = RecordingSurface()
    stop = asyncio.Event()
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, "All done.")]), cancelled=stop
    )
    stop.set()
    assert outcome.status == "completed" and surface.texts() == ["All done."]
