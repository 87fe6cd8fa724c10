"""``core.redis.guarded`` bounds every Redis call by its deadline, even when the Redis client
swallows the cancellation that enforces it.

redis-py sends a command through ``asyncio.wait_for``, which on Python 3.11 swallows a cancel
that lands just as the send completes (cpython gh-86296, fixed in 3.12 by reimplementing
``wait_for`` on ``asyncio.timeout``); the client then reads the answer under its own socket
timeout, retried. Seen under CPU load: a turn with a 0.05 s op timeout and 0.2 s of patience
waited 10 s for a paused Redis. Fake time (looptime): the bound is a count of loop seconds.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from core.errors import SessionStoreError
from core.redis import StoreTimeout, guarded


async def _swallows_one_cancel(answer_after: float) -> str:
    """A call that ignores the first cancel, as ``wait_for`` does, then answers late."""
    with contextlib.suppress(asyncio.CancelledError):  # swallowed: the deadline is lost
        await asyncio.sleep(answer_after)
    await asyncio.sleep(answer_after)
    return "late"


@pytest.mark.looptime
async def test_a_call_that_swallows_the_deadline_still_ends_at_the_deadline() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(StoreTimeout, match=r"did not answer turn enter within 0\.05s"):
        await guarded("turn enter", _swallows_one_cancel(60), within=0.05)
    assert loop.time() - started == pytest.approx(0.05)


@pytest.mark.looptime
async def test_a_call_within_its_deadline_answers() -> None:
    async def answer() -> str:
        await asyncio.sleep(0.01)
        return "ok"

    assert await guarded("ping", answer(), within=0.05) == "ok"


@pytest.mark.looptime
async def test_cancelling_the_caller_cancels_the_call() -> None:
    call_started, call_cancelled = asyncio.Event(), asyncio.Event()

    async def slow() -> None:
        call_started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            call_cancelled.set()
            raise

    caller = asyncio.create_task(guarded("ping", slow(), within=30))
    await call_started.wait()
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    await asyncio.wait_for(call_cancelled.wait(), 1)  # fake time: at once, or never


async def _ends_after(seconds: float, outcome: str | Exception) -> str:
    """A Redis call that answers ``outcome`` (or fails with it) after ``seconds``."""
    await asyncio.sleep(seconds)
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


@pytest.mark.looptime
async def test_an_answer_comes_back_when_the_call_ends_not_at_the_deadline() -> None:
    started = asyncio.get_running_loop().time()
    assert await guarded("ping", _ends_after(0.01, "ok"), within=30) == "ok"
    assert asyncio.get_running_loop().time() - started == pytest.approx(0.01)


@pytest.mark.looptime
async def test_a_failure_is_raised_when_the_call_fails_not_at_the_deadline() -> None:
    started = asyncio.get_running_loop().time()
    refused = RedisConnectionError("Connection refused")
    with pytest.raises(SessionStoreError, match="redis failed during ping: Connection refused"):
        await guarded("ping", _ends_after(0.01, refused), within=30)
    assert asyncio.get_running_loop().time() - started == pytest.approx(0.01)
