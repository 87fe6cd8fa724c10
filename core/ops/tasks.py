"""The turns in flight of one bot: spawned as tracked tasks, drained on shutdown.

Bots run each turn as its own task (a platform's event handler must return at once), kept
here so that a crash is logged rather than lost, and so that shutdown can do what an
operator expects of SIGTERM (:meth:`TurnTasks.drain`): refuse new turns, give the replies
streaming now a grace period to finish, then interrupt the rest. An interrupted reply is
finalised by the relay with its partial text and :data:`core.texts.INTERRUPTED` — not the
"Stopped" of a user's Stop button — and its conversation lock is released as the turn unwinds.

How the notice is chosen: drain cancels each task with the message :data:`SHUTDOWN`, which
the :class:`asyncio.CancelledError` raised in the turn carries (:func:`by_shutdown`): the
relay then ends the reply with :data:`core.texts.INTERRUPTED`, and a turn still waiting for
its conversation posts :data:`core.texts.NOT_ANSWERED`. A library may swallow a cancel and
raise a fresh one without its message (redis-py's ``asyncio.wait_for`` on Python 3.11, see
:func:`core.redis.guarded`), so drain also notes the tasks it interrupts in a weak set: the
reason survives, and nothing outlives a task.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Coroutine, Iterator
from typing import Any, Final

__all__ = ["SHUTDOWN", "TurnTasks", "by_shutdown"]

log = logging.getLogger(__name__)

# A cancelled turn finalises its reply (final edits are bounded by the relay's own
# timeouts); after this long more, shutdown stops waiting for it and lets the process exit.
_FINALISE_TIMEOUT = 10.0

SHUTDOWN: Final = "threadcast: shutdown"
"""The message :meth:`TurnTasks.drain` cancels a turn's task with (``task.cancel(msg)``)."""


_interrupted: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
"""The turn tasks a drain cancelled (weak: a finished task leaves by itself)."""


def by_shutdown(cancel: asyncio.CancelledError) -> bool:
    """Whether ``cancel`` is a shutdown interrupting the turn (not a Stop, not a bug)."""
    if cancel.args[:1] == (SHUTDOWN,):
        return True
    task = asyncio.current_task()
    return task is not None and task in _interrupted


class TurnTasks:
    """A set of running turn tasks that can be drained together."""

    def __init__(self, *, finalise_timeout: float = _FINALISE_TIMEOUT) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self.closed = False
        self.finalise_timeout = finalise_timeout

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

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def __iter__(self) -> Iterator[asyncio.Task[Any]]:
        return iter(list(self._tasks))

    async def idle(self) -> None:
        """Wait until no task runs (tests and benchmarks)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, grace: float) -> None:
        """Refuse new turns; let running ones finish for ``grace`` seconds; interrupt the
        rest and wait (bounded) while they finalise their replies."""
        self.closed = True
        if self._tasks:
            log.warning("shutdown: %d replies in flight get %gs to finish", len(self), grace)
            await asyncio.wait(set(self._tasks), timeout=grace)
        remaining = list(self._tasks)
        if not remaining:
            return
        log.warning("shutdown: interrupting %d replies still streaming", len(remaining))
        for task in remaining:
            _interrupted.add(task)
            task.cancel(SHUTDOWN)
        _, pending = await asyncio.wait(remaining, timeout=self.finalise_timeout)
        if pending:
            log.error("%d turns did not finalise within %gs", len(pending), self.finalise_timeout)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.error("turn task %s crashed", task.get_name(), exc_info=error)
