"""The bot's requests on the wire: never more than ``limit`` that Discord could count in any
``window`` seconds, wherever between sending and answering it counts them.

The edit scheduler hands out the global budget's tokens (46/s with a burst of 3: at most 49
taken in any 1 s), but a token is taken some time before its request leaves: the relay takes
it, then collects the text, writes the reply's recovery record to Redis ahead of the post or
edit (:mod:`core.ops.recovery.heartbeat`, bounded by its ``ahead_timeout``), discord.py
queues the request on its bucket, and aiohttp may open a connection for it. And a request
that left is counted by Discord only when it gets there (discord-api-docs, Topics > Rate
Limits, "Global Rate Limit": 50 requests per second per bot): the network, or a server busy
for a moment, can delay some requests and not the next ones, so requests that left more than
a second apart may arrive within one. (Measured at N = 1,000 in ``bench_discord.py``: 49 left
in every second at most, 51 arrived in one, the simulator's loop having stalled.)

So a request counts here from the instant it leaves until ``window`` seconds after its answer
(or its failure) came back: Discord counted it at some instant in between, since it arrives
after it left and is answered after it is counted. If one more request may leave only while
fewer than ``limit`` are counted, any ``window`` at Discord holds at most ``limit``, whatever
the delays on the way (take the one of them that left last: every other one in that window
left before it and was answered after the window opened, so it was still counted when the
last one left). The price is the round trip: each request holds its place one round trip
longer than a second, so ``limit`` per (1 s + round trip) at most, which is above the
scheduler's 46/s while round trips stay under ``limit`` / 46 − 1 s (65 ms at 49).

Requests are held where they leave: aiohttp traces on discord.py's session
(:meth:`WirePace.attach`), awaited once a request's connection is ready (reused from the
pool, or just opened), after discord.py's own bucket waits, right before aiohttp writes the
request (aiohttp ``TCPConnector.connect``). A request waits there only while ``limit`` are
counted; the scheduler's pace stays below the limit, so this only spreads a bunch, in the
order it came. aiohttp ends every request it started with ``on_request_end`` or
``on_request_exception`` (``ClientSession._request``), which is when its count starts to run
out; one it sends again on a fresh connection (a pooled one found closed) counts twice. Should
an end ever go unreported (a second cancel while aiohttp cleans up, before its trace), the
request stops counting ``lost_after`` seconds after it left, aiohttp's default total timeout
for a request (discord.py's session keeps it): room is lost for that long, never for good.

Interaction callbacks and webhooks are not counted: Discord does not bind them to the
global limit ("Interaction endpoints are not bound to the bot's Global Rate Limit", same
page), and an interaction must be answered within 3 s. One process counts its own requests;
shards or processes sharing a token share only the scheduler's budget (in Redis).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import math
from types import SimpleNamespace

import aiohttp

__all__ = ["WirePace", "counted"]

# Requests Discord does not count against the global limit (see the module docstring).
_EXEMPT = ("/interactions/", "/webhooks/")


class WirePace:
    """Requests counted from leaving until ``window`` after their answer; see the module
    docstring."""

    def __init__(self, limit: int, window: float = 1.0, *, lost_after: float = 300.0) -> None:
        if limit < 1 or window <= 0 or lost_after <= window:
            raise ValueError(
                f"wire pace: limit and window must be positive, lost_after above the window"
                f" ({limit}, {window}, {lost_after})"
            )
        self.limit = limit
        self.window = window
        self.lost_after = lost_after
        # Requests that left and have no answer yet: ticket -> loop time it left, oldest first
        # (a dict keeps insertion order, and tickets are handed out as requests leave).
        self._flying: dict[int, float] = {}
        self._tickets = itertools.count()
        # When each answered request stops counting (loop time), earliest first: answers are
        # noted as they come, so appending keeps the order.
        self._expiring: collections.deque[float] = collections.deque()
        self._answered = asyncio.Event()  # one more request came back
        self._queue = asyncio.Lock()  # FIFO: a bunch leaves in the order it came
        self.waited = 0
        """Requests that had to wait (for logs and tests)."""

    def attach(self, trace: aiohttp.TraceConfig) -> None:
        """Pace every request of the session that ``trace`` is given to."""
        trace.on_request_start.append(self._on_request_start)
        trace.on_connection_reuseconn.append(self._on_connection)
        trace.on_connection_create_end.append(self._on_connection)
        trace.on_request_redirect.append(self._on_answer)
        trace.on_request_end.append(self._on_answer)
        trace.on_request_exception.append(self._on_answer)

    async def _on_request_start(
        self,
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestStartParams,
    ) -> None:
        context.wire_counted = counted(params.url.path)
        context.wire_left = []  # the tickets of its sends (twice if aiohttp sends it again)

    async def _on_connection(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: object
    ) -> None:
        # The request's connection is ready (reused, or just opened: opening one takes a
        # loop turn or more, so counting earlier would let requests on new connections
        # bunch behind ones on open connections); aiohttp writes it next.
        if getattr(context, "wire_counted", False):
            context.wire_left.append(await self.leave())

    async def _on_answer(
        self, session: aiohttp.ClientSession, context: SimpleNamespace, params: object
    ) -> None:
        left = getattr(context, "wire_left", None)
        if left:
            self.answered(*left)
            left.clear()

    async def leave(self) -> int:
        """Return when one more request may leave now, and count it as in flight; the
        ticket is for :meth:`answered`."""
        loop = asyncio.get_running_loop()
        if self._queue.locked() or not self._room(loop.time()):
            async with self._queue:  # only its holder takes room: the first in line goes first
                self.waited += 1
                while not self._room(loop.time()):
                    await self._next_room()
        ticket = next(self._tickets)
        self._flying[ticket] = loop.time()
        return ticket

    async def _next_room(self) -> None:
        """Wait until a count may have run out, or an answer came (which sets when one
        will): the caller checks again (a timer may also fire a clock tick early)."""
        soonest = self._expiring[0] if self._expiring else math.inf
        for left in self._flying.values():  # the oldest only: its loss comes first
            soonest = min(soonest, left + self.lost_after)
            break
        self._answered.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(None if soonest == math.inf else soonest):
                await self._answered.wait()

    def answered(self, *tickets: int) -> None:
        """The requests that left with ``tickets`` came back (answered or failed): they
        count ``window`` more."""
        ends = asyncio.get_running_loop().time() + self.window
        for ticket in tickets:
            if self._flying.pop(ticket, None) is not None:
                self._expiring.append(ends)
        self._answered.set()

    @property
    def in_flight(self) -> int:
        """Requests that left and have no answer yet."""
        return len(self._flying)

    def counting(self, now: float) -> int:
        """Requests Discord may still count at ``now``: in flight (for ``lost_after`` at
        most), or answered within ``window``."""
        expiring = self._expiring
        while expiring and expiring[0] <= now:
            expiring.popleft()
        flying = self._flying
        # Oldest first: those whose end went unreported (see the module docstring).
        lost = [t for t, left in flying.items() if left + self.lost_after <= now] if flying else []
        for ticket in lost:
            del flying[ticket]
        return len(flying) + len(expiring)

    def _room(self, now: float) -> bool:
        return self.counting(now) < self.limit


def counted(path: str) -> bool:
    """Whether a request to ``path`` counts against Discord's global limit."""
    return not any(part in path for part in _EXEMPT)
