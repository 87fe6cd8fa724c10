"""Waiting on state in tests, instead of sleeping and hoping.

A test that needs "the turn is queued" or "the first token is shown" waits for exactly that
with :func:`eventually`, which re-checks a condition (plain or async) until it holds. It
returns as soon as it does, so its bound is generous: only a failing test pays it, and a
busy machine (CI, the suite's parallel workers, two busy processes beside it) must not turn
slowness into a failure. Sleeping a guessed time instead is either slow or flaky, usually
both.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

__all__ = ["PATIENCE", "eventually"]

PATIENCE = 20.0
"""Seconds a wait may take before the test fails (never a speed claim)."""

_EVERY = 0.005


async def eventually(
    check: Callable[[], bool | Awaitable[bool]],
    *,
    within: float = PATIENCE,
    what: str = "the condition",
) -> None:
    """Return once ``check()`` holds (re-checked every 5 ms); fail the test after ``within``."""
    try:
        async with asyncio.timeout(within):
            while True:
                outcome = check()
                if inspect.isawaitable(outcome):
                    outcome = await outcome
                if outcome:
                    return
                await asyncio.sleep(_EVERY)
    except TimeoutError:
        raise AssertionError(f"{what}: still not so after {within:g}s") from None
