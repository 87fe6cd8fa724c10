"""Helpers for tests that watch real processes: is one gone, and waiting on a condition."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["process_gone", "wait_until"]

_POLL = 0.05


def process_gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie, exited but not yet reaped, counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


async def wait_until(condition: Callable[[], bool], *, timeout: float, what: str) -> None:  # noqa: ASYNC109
    """Wait for ``condition`` to hold (checked every 50 ms); fail the test after ``timeout``."""
    try:
        async with asyncio.timeout(timeout):
            while not condition():  # noqa: ASYNC110 - another process's state, polled
                await asyncio.sleep(_POLL)
    except TimeoutError:
        raise AssertionError(f"{what}: still not so after {timeout:g}s") from None
