"""Pointing the real discord.py at the simulator, and running a client against it.

discord.py has two class-level hooks: ``discord.http.Route.BASE`` (read when each request's
``Route`` is built) and ``DiscordWebSocket.DEFAULT_GATEWAY`` (read on every fresh connect).
``pointed_at`` patches both and restores them; keep it active for the client's lifetime.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from .server import SimulatorServer

__all__ = ["pointed_at", "running_client"]


@contextlib.contextmanager
def pointed_at(sim: SimulatorServer) -> Iterator[None]:
    """Route discord.py's REST and gateway traffic to ``sim`` inside the block."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    Route.BASE = sim.api_base
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sim.gateway_url)
    try:
        yield
    finally:
        Route.BASE = old_base
        DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running_client(
    sim: SimulatorServer,
    client: discord.Client,
    *,
    token: str | None = None,
    ready_timeout: float = 10.0,
) -> AsyncIterator[discord.Client]:
    """Log ``client`` in, connect it, wait for ``on_ready``; close it on the way out.

    Login errors (``LoginFailure``) and gateway refusals (``PrivilegedIntentsRequired``)
    are raised from here, after the client is closed. Build the client with a small
    ``guild_ready_timeout`` (discord.py waits that long after the last GUILD_CREATE).
    """
    with pointed_at(sim):
        connector: asyncio.Task[None] | None = None
        try:
            await client.login(token or sim.token)
            connector = asyncio.create_task(client.connect(), name="discord-sim-client")
            ready = asyncio.create_task(client.wait_until_ready())
            done, _ = await asyncio.wait(
                {connector, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if connector in done:
                ready.cancel()
                connector.result()  # raises why the connection ended
                raise RuntimeError("the client disconnected before it was ready")
            if not done:
                ready.cancel()
                raise TimeoutError(f"the client was not ready within {ready_timeout} s")
            yield client
        finally:
            await client.close()
            if connector is not None:
                with contextlib.suppress(asyncio.CancelledError, discord.ConnectionClosed):
                    await asyncio.wait_for(connector, timeout=5.0)
