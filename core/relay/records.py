"""A reply's feedback records, written while it streams, not when it ends.

The 👍 / 👎 controls show on a completed reply's last message once that message is recorded
(so a vote names its conversation, session and agent). Recording it only when the final
edit was due put one Redis write between the answer and its final edit, inside the reply's
finishing time: in a burst on a loaded machine (a starved event loop, a busy connection
pool: Redis slow, not down) that write outlasted the finish, whose final edit was then left
to the recovery reapers without the controls: more than half a flood's replies ended
without them (issue 17). Each message is therefore recorded as soon as it is posted, while
the agent still streams; the final edit then finds the record written, or waits for what is
left of it. A record whose reply does not complete (failed, stopped) shows no controls and
expires with the store's TTL: nothing can vote on it.

Each record is bounded from its start (``within``): a Redis that does not answer costs the
controls, never the final text, which goes without them once the bound is spent; a refused
connection (Redis down) fails at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from core.surface import MessageRef

__all__ = ["FeedbackRecords"]

log = logging.getLogger(__name__)


class FeedbackRecords:
    """The records of one reply's messages (see the module docstring)."""

    def __init__(self, record: Callable[[MessageRef], Awaitable[bool]], *, within: float) -> None:
        """``record(message)`` remembers the reply ending with ``message`` (False: offer no
        controls); ``within``: seconds one record may take, from its start."""
        self._record = record
        self.within = within
        self._started: dict[str, asyncio.Task[bool]] = {}

    def start(self, message: MessageRef) -> None:
        """Begin recording ``message`` in the background (once per message)."""
        if message.message_id not in self._started:
            self._started[message.message_id] = asyncio.create_task(
                self._bounded(message), name=f"feedback-record-{message.message_id}"
            )

    async def recorded(self, message: MessageRef) -> bool:
        """Whether ``message`` is recorded (started now if it was not): at once when its
        record has landed, else once it lands or its bound is spent."""
        self.start(message)
        task = self._started[message.message_id]
        await asyncio.wait((task,))  # a cancelled caller leaves the record running
        return _succeeded(task)

    def landed(self, message: MessageRef) -> bool:
        """Whether ``message``'s record has landed already (no wait: for a finish that is
        over, whose owed final edit a reaper makes)."""
        task = self._started.get(message.message_id)
        return task is not None and task.done() and _succeeded(task)

    def close(self) -> None:
        """The reply is over: records still in flight are no longer waited for."""
        for task in self._started.values():
            task.cancel()

    async def _bounded(self, message: MessageRef) -> bool:
        try:
            async with asyncio.timeout(self.within):
                return await self._record(message)
        except Exception as exc:  # a store's failure costs the controls, never the reply
            log.warning("could not record the reply for feedback: %r", exc)
            return False


def _succeeded(record: asyncio.Task[bool]) -> bool:
    """Whether a finished record landed (a cancelled one did not)."""
    return not record.cancelled() and record.result()
