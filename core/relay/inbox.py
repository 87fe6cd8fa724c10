"""The agent's text that has arrived but is not shown yet.

This is the per-chunk path, so it does O(chunk) work and nothing else: append the chunk,
remember when the oldest unshown text arrived (the edit scheduler serves the most stale
reply first), and wake the writer. Joining happens once per edit, in :meth:`Inbox.take`.
"""

from __future__ import annotations

import asyncio

__all__ = ["Inbox"]


class Inbox:
    """Chunks between the agent's stream and the reply's writer."""

    __slots__ = ("_pending", "changed", "ended", "since")

    def __init__(self) -> None:
        self._pending: list[str] = []
        self.since: float | None = None
        """Loop time of the oldest text not yet taken, or ``None`` when there is none."""
        self.changed = asyncio.Event()
        self.ended = False

    def add(self, text: str) -> None:
        if not text:
            return
        if not self._pending:
            self.since = asyncio.get_running_loop().time()
        self._pending.append(text)
        self.changed.set()

    def take(self) -> str:
        """Everything that arrived since the last take, joined."""
        joined = "".join(self._pending)
        self._pending.clear()
        self.since = None
        return joined

    @property
    def pending(self) -> bool:
        return bool(self._pending)

    def end(self) -> None:
        """No more text will come (the stream finished, failed or was stopped)."""
        self.ended = True
        self.changed.set()
