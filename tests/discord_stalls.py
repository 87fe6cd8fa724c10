"""A Discord that takes a request and then does not answer it, in the simulator.

``sim.after_call`` runs a hook once a matching call has been applied and before it is
answered; a hook that waits holds the answer (Discord stalling after the commit), so the
client learns nothing of the outcome, as after a real timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bots.simulators.discord import Call, DiscordSimulator

__all__ = ["stalled"]


@contextlib.asynccontextmanager
async def stalled(sim: DiscordSimulator, method: str, route: str) -> AsyncIterator[list[Call]]:
    """The next ``method route`` call is applied and its answer held until the block ends
    (then sent, to a client that may have given up on it); yields the held calls. The
    answer is always released, so the simulator can shut down."""
    held: list[Call] = []
    release = asyncio.Event()

    async def hold(call: Call) -> None:
        held.append(call)
        await release.wait()

    sim.after_call(method, route, hold)
    try:
        yield held
    finally:
        release.set()
