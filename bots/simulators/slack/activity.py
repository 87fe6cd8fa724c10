"""One signal for "something happened in the simulator", so tests wait without sleeping."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

__all__ = ["Activity"]


class Activity:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake every waiter (an API call, a socket message, a delivery happened)."""
        self._event.set()
        self._event = asyncio.Event()

    async def until(self, predicate: Callable[[], bool], timeout: float) -> None:  # noqa: ASYNC109
        """Return once ``predicate()`` holds; TimeoutError after ``timeout`` seconds.

        The deadline is built in because these helpers run inside tests, where a condition
        that never comes true must fail the test, not hang the run.
        """
        async with asyncio.timeout(timeout):
            while not predicate():
                event = self._event
                # Re-check at least every 50 ms too: some state changes with time alone
                # (a stream expiring, a status timing out), with no activity to signal it.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await event.wait()
