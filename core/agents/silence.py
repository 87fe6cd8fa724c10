"""How long a streamed reply's server has been silent, enforced by one timer per stream.

``asyncio.timeout`` around every read costs a timer, a task lookup and a context manager per
chunk the agent sends; with hundreds of replies at 20 chunks/s that was a noticeable share of
the bot's CPU (tests/bench/README.md, "CPU per streamed reply"). A :class:`SilenceBudget` instead
arms one timer for the whole budget; when it fires and the budget turns out not to be spent (the
server spoke meanwhile, or the consumer held the time), it re-arms for what is left. Only the
time spent *waiting for the server* counts (see :mod:`core.agents.transport`).
"""

from __future__ import annotations

import asyncio

__all__ = ["SilenceBudget"]


class SilenceBudget:
    """Cancels the waiting task once it has waited ``budget`` seconds in total between two
    :meth:`progress` calls; :meth:`expired` then tells the cancellation apart. The task is
    the one that calls :meth:`waiting` (a stream may be read from more than one)."""

    __slots__ = ("_budget", "_handle", "_loop", "_since", "_task", "_waited", "fired")

    def __init__(self, budget: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task: asyncio.Task[object] | None = None
        self._budget = budget
        self._waited = 0.0
        self._since: float | None = None  # waiting since (loop time), None while not waiting
        self._handle: asyncio.TimerHandle | None = None
        self.fired = False

    def waiting(self, after: float = 0.0) -> None:
        """The task now waits for the server (from ``after`` seconds on: until then for
        something else, a held read's socket left unread)."""
        now = self._loop.time()
        self._since = now + after
        self._task = asyncio.current_task(self._loop)  # the loop given: one lookup less per read
        if self._handle is None:
            self._handle = self._loop.call_at(now + self._budget - self._waited, self._check)

    def done_waiting(self) -> None:
        """The server answered (or the wait ended otherwise)."""
        if self._since is not None:
            self._waited += max(0.0, self._loop.time() - self._since)
            self._since = None

    def progress(self, budget: float) -> None:
        """Real progress: a new budget of ``budget`` seconds starts now."""
        self._budget, self._waited = budget, 0.0

    def expired(self) -> bool:
        """Whether a cancellation of the task was this budget's (and undo it if so)."""
        return self.fired and self._task is not None and self._task.uncancel() == 0

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _check(self) -> None:
        self._handle = None
        now = self._loop.time()
        waited = self._waited + (now - self._since if self._since is not None else 0.0)
        if self._since is not None and waited >= self._budget and self._task is not None:
            self.fired = True
            self._task.cancel()
            return
        if self._since is not None:  # still waiting, budget not spent: check again then
            self._handle = self._loop.call_at(now + self._budget - waited, self._check)
        # Not waiting: the next waiting() arms the timer again.
