"""The edit scheduler on uvloop (the services' loop), in real time.

uvloop's clock counts whole milliseconds and rounds a timer's delay to the nearest one: a
dispatcher that slept until a token due between two ticks woke up to 0.5 ms early, found no
token yet, and slept again for less than half a millisecond, which uvloop runs at once: ~10
passes per token instead of one (asyncio's loop: one).
"""

from __future__ import annotations

import asyncio

import uvloop

from core.relay.scheduler import EditScheduler
from core.surface import BudgetScope


class CountingScheduler(EditScheduler):
    """Counts the dispatcher's passes over the queue."""

    passes = 0

    async def _dispatch(self, loop: asyncio.AbstractEventLoop) -> float | None:
        self.passes += 1
        return await super()._dispatch(loop)


async def serve(waiters: int) -> tuple[int, list[int]]:
    """``waiters`` queued at once for one budget whose tokens fall between the clock's
    ticks (300/s: 3.33 ms apart); returns the dispatcher's passes and the grant order."""
    scheduler = CountingScheduler()
    scope = BudgetScope("discord:bot", rate=300.0)
    order: list[int] = []

    async def edit(k: int) -> None:
        await scheduler.acquire([scope], urgent=False, since=float(k))
        order.append(k)

    await asyncio.gather(*(edit(k) for k in range(waiters)))
    return scheduler.passes, order


def test_on_uvloop_the_dispatcher_wakes_once_per_token() -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        assert isinstance(runner.get_loop(), uvloop.Loop)
        passes, order = runner.run(serve(60))
    assert order == list(range(60))  # most stale first, every one granted
    # The first acquire takes the free token without queueing; the queued 59 need one pass
    # each (their wake-ups), and arrivals may add a pass or two before the first sleep.
    assert passes <= 59 + 3, passes
