"""``threadcast discord``: run the bot until SIGTERM or SIGINT, then stop cleanly.

Beside the gateway connection the process serves the operations endpoints on ``PORT``
(``/healthz``, ``/readyz`` — Redis answers and the gateway is connected and ready —,
``/metrics``), started before the bot connects so that liveness answers during start-up.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bots.discord.bot import DiscordBot
from bots.discord.settings import DiscordSettings, load_discord_settings
from bots.signals import handling_signals
from core.config import Settings
from core.errors import SurfaceError
from core.ops import heap
from core.ops.http import Probes, WebServer, add_ops_routes
from core.ops.logs import fatal, log_format
from core.runtime import Runtime

__all__ = ["ops_server", "run_discord", "serve"]

log = logging.getLogger(__name__)

EXIT_FAILED = 1


async def run_discord(settings: Settings) -> int:
    """Run the Discord bot; returns the process exit status.

    Configuration errors (``ConfigError``: missing or rejected token, refused intent) and
    Redis failures propagate to the CLI, which prints them as one line.
    """
    discord_settings = load_discord_settings()
    stop = asyncio.Event()
    # SIGTERM (a process manager) and SIGINT (Ctrl-C) both mean: stop cleanly.
    with handling_signals(dict.fromkeys((signal.SIGTERM, signal.SIGINT), stop.set)):
        try:
            await serve(settings, discord_settings, stop)
        except SurfaceError as exc:
            fatal(
                str(exc),
                json=log_format("discord", settings.log_format) == "json",
                settings=settings,
            )
            return EXIT_FAILED
    return 0


async def serve(settings: Settings, discord_settings: DiscordSettings, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set or the gateway connection ends for good."""
    async with Runtime(settings, reload_signal=True) as runtime:
        bot = DiscordBot(runtime, discord_settings)
        server = ops_server(runtime, bot, host="0.0.0.0", port=settings.port)
        heap.settle()  # start-up is done: the collector's pace for serving
        await server.start(host_variable="PORT")  # the host is fixed: only PORT can be wrong
        try:
            async with bot:
                await _until_stopped(bot, stop)
        finally:
            await server.stop()


def ops_server(runtime: Runtime, bot: DiscordBot, *, host: str, port: int) -> WebServer:
    """The probes and metrics of one Discord bot process (not started yet)."""
    probes = Probes(
        runtime.redis,
        platform_ready=bot.connected,
        draining=lambda: bot.tasks.closed,
        details=_details(bot),
    )
    application = web.Application()
    add_ops_routes(application, probes)
    return WebServer(application, host=host, port=port)


def _details(bot: DiscordBot) -> Callable[[], Awaitable[dict[str, Any]]]:
    async def details() -> dict[str, Any]:
        shard = bot.settings.shard_id
        return {"platform": "discord", "connected": bot.connected(), "shard": shard,
                "replies": len(bot.tasks)}  # fmt: skip

    return details


async def _until_stopped(bot: DiscordBot, stop: asyncio.Event) -> None:
    """Wait for ``stop`` or the end of the gateway connection (raising why it failed)."""
    user = bot.client.user
    log.warning("threadcast is connected to Discord as %s; stop with Ctrl-C", user)
    stopping = asyncio.create_task(stop.wait())
    running = asyncio.create_task(bot.wait())
    try:
        await asyncio.wait({stopping, running}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        running.cancel()
        # Both are awaited, so neither ends with an exception nobody retrieved.
        await asyncio.gather(stopping, running, return_exceptions=True)
    if not running.cancelled() and running.exception() is not None:
        running.result()  # the connection failed: raise why
    log.warning("stopping: finishing the replies in flight")
