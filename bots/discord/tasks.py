"""The turns in flight: each answered message runs as its own task, tracked here.

discord.py runs an event handler inline on the gateway's reader, so a handler that awaited
a whole reply would hold up heartbeats and every other event. Handlers only *spawn*; this
keeps the tasks so a crash is logged (not lost with an un-retrieved exception) and shutdown
can cancel them — the relay then finishes each reply with its partial text and "stopped" —
and wait for them, bounded.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["TurnTasks"]

log = logging.getLogger(__name__)


class TurnTasks:
    """A set of running tasks that can be cancelled and awaited together."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any] | None:
        """Run ``coro`` as a tracked task; refused (closed, None) once shutdown began."""
        if self.closed:
            coro.close()
            return None
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def __len__(self) -> int:
        return len(self._tasks)

    async def idle(self) -> None:
        """Wait until no task runs (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def shutdown(self, grace: float) -> None:
        """Refuse new tasks, cancel the running ones and wait up to ``grace`` seconds."""
        self.closed = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=grace)
        if pending:
            log.error("%d turns did not finish within %.0fs of shutdown", len(pending), grace)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("turn task %s crashed", task.get_name(), exc_info=error)
