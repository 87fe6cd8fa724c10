"""Helpers for tests that watch real processes: is one gone, and waiting on a condition."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path

import aiohttp

__all__ = ["healthy", "process_gone", "wait_until"]

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


async def healthy(url: str, process: asyncio.subprocess.Process, *, timeout: float = 60.0) -> bool:  # noqa: ASYNC109
    """Whether the child ``process`` answers 200 at ``url`` (its health check) before it
    exits and within ``timeout`` (a start-up on a loaded machine, never a speed claim);
    polled every 50 ms. The caller says what failed, with the logs it has."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while loop.time() < give_up and process.returncode is None:
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return True
            except (aiohttp.ClientError, TimeoutError):
                pass
            await asyncio.sleep(_POLL)  # another process's state, polled
    return False
