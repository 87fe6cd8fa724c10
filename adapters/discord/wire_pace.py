"""The bot's requests as they leave: never more than ``limit`` in any ``window`` seconds.

The edit scheduler hands out the global budget's tokens (46/s with a burst of 3: at most 49
taken in any 1 s), but a token is taken some time before its request leaves: the relay takes
it, then collects the text, writes the reply's recovery record to Redis ahead of the post or
edit (:mod:`core.ops.recovery.heartbeat`, bounded by its ``ahead_timeout``), discord.py
queues the request on its bucket, and aiohttp may open a connection for it. Those steps take
varying time, so requests whose tokens were spread over more than a second could leave
within one. Discord counts requests as they arrive (discord-api-docs, Topics > Rate Limits,
"Global Rate Limit": 50 per second per bot), so they are counted again where they leave:
aiohttp traces on discord.py's session (:meth:`WirePace.attach`), awaited once a request's
connection is ready (reused from the pool, or just opened), after discord.py's own bucket
waits, right before aiohttp writes the request (aiohttp ``TCPConnector.connect``). A request
waits there only while ``limit`` requests already left in the past ``window``: the
scheduler's pace stays below the limit, so this only spreads a bunch, in the order it came.

Interaction callbacks and webhooks are not counted: Discord does not bind them to the
global limit ("Interaction endpoints are not bound to the bot's Global Rate Limit", same
page), and an interaction must be answered within 3 s. One process counts its own requests;
shards or processes sharing a token share only the scheduler's budget (in Redis).
"""

from __future__ import annotations

import asyncio
import collections
import math
from types import SimpleNamespace

import aiohttp

__all__ = ["WirePace", "counted"]

# Requests Discord does not count against the global limit (see the module docstring).
_EXEMPT = ("/interactions/", "/webhooks/")


class WirePace:
    """A sliding window over the instants requests left; see the module docstring."""

    def __init__(self, limit: int, window: float = 1.0) -> None:
        if limit < 1 or window <= 0:
            raise ValueError(f"wire pace: limit and window must be positive ({limit}, {window})")
        self.limit = limit
        self.window = window
        # The instants (loop time) the last ``limit`` requests left, oldest first.
        self._left: collections.deque[float] = collections.deque(maxlen=limit)
        self._queue = asyncio.Lock()  # FIFO: a bunch leaves in the order it came
        self.waited = 0
        """Requests that had to wait (for logs and tests)."""

    def attach(self, trace: aiohttp.TraceConfig) -> None:
        """Pace every request of the session that ``trace`` is given to."""
        trace.on_request_start.append(self._on_request_start)
        trace.on_connection_reuseconn.append(self._on_connection)
        trace.on_connection_create_end.append(self._on_connection)

    async def _on_request_start(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        context.wire_counted = counted(params.url.path)

    async def _on_connection(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: object
    ) -> None:
        # The request's connection is ready (reused, or just opened: opening one takes a
        # loop turn or more, so counting earlier would let requests on new connections
        # bunch behind ones on open connections); aiohttp writes it next.
        if getattr(context, "wire_counted", False):
            await self.leave()

    async def leave(self) -> None:
        """Return when one more request may leave now, and count it as gone."""
        loop = asyncio.get_running_loop()
        if not self._queue.locked() and self._room(loop.time()):
            self._left.append(loop.time())  # the usual case: no wait, no lock
            return
        async with self._queue:  # only its holder counts requests: the oldest stays put
            self.waited += 1
            due = self._due()
            if due > loop.time():
                await asyncio.sleep(due - loop.time())
            # A timer may fire a clock tick early; the slot is the one it waited for.
            self._left.append(max(loop.time(), due))

    def _room(self, now: float) -> bool:
        """Fewer than ``limit`` requests left in ``(now - window, now]``."""
        return self._due() <= now

    def _due(self) -> float:
        """The earliest instant one more request may leave."""
        left = self._left
        return left[0] + self.window if len(left) == self.limit else -math.inf


def counted(path: str) -> bool:
    """Whether a request to ``path`` counts against Discord's global limit."""
    return not any(part in path for part in _EXEMPT)
