"""The Discord side of the "busy" switch: every other message create or edit gets a 429.

Discord announces its per-route buckets in ``X-RateLimit-*`` headers and discord.py waits
for a bucket's reset by itself, so shrinking a bucket would only slow the bot silently. What
a bot cannot foresee are 429s of a resource that others use too ("shared" scope) and of
the global limit it shares with its other servers (discord-api-docs, Topics > Rate Limits).
Busy mode models those: while it is on, one 429 (``Retry-After`` 1 s) is armed for the next
message create or edit, and armed again once a request went through after it. discord.py
retries each refused request after ``Retry-After``; the bot's reporter feeds every 429 to
its edit scheduler, which pauses and lowers the budget, so the page shows the bot adapt.
"""

from __future__ import annotations

import asyncio
from functools import partial

from bots.playground.simulators import DiscordFault, DiscordSimulator

__all__ = ["BusyChannels"]

_ROUTES = (
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
)
RETRY_AFTER = 1.0
_FOREVER = 24 * 3600.0


class BusyChannels:
    def __init__(self, sim: DiscordSimulator) -> None:
        self._sim = sim
        self._task: asyncio.Task[None] | None = None

    @property
    def on(self) -> bool:
        return self._task is not None

    def switch(self, on: bool) -> None:
        if on and self._task is None:
            self._task = asyncio.create_task(self._refuse_every_other(), name="discord-busy")
        elif not on and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _refuse_every_other(self) -> None:
        sim = self._sim
        armed: list[DiscordFault] = []
        try:
            while True:
                armed = [
                    sim.inject_failure(method, route, status=429, retry_after=RETRY_AFTER)
                    for method, route in _ROUTES
                ]
                await sim.wait_until(partial(_fired, armed), within=_FOREVER)
                _disarm(sim, armed)
                await sim.wait_until(partial(self._passed_since, len(sim.calls)), within=_FOREVER)
        finally:
            _disarm(sim, armed)

    def _passed_since(self, start: int) -> bool:
        """Whether a message create or edit went through since call ``start``."""
        calls = self._sim.calls[start:]
        return any((c.method, c.route) in _ROUTES and c.status < 300 for c in calls)


def _fired(faults: list[DiscordFault]) -> bool:
    return any(f.times <= 0 for f in faults)


def _disarm(sim: DiscordSimulator, faults: list[DiscordFault]) -> None:
    for fault in faults:
        fault.times = 0
        if fault in sim.state.faults:
            sim.state.faults.remove(fault)
