"""The operations endpoints every bot serves on ``PORT``.

- ``GET /healthz``: the process is up and its event loop answers (always 200; liveness).
- ``GET /readyz``: 200 only when Redis answers PING within a short timeout *and* the
  platform is connected (a callable the bot supplies) *and* the bot is not shutting down;
  otherwise 503 with a JSON body naming what is not ready. An orchestrator routes traffic
  by it, so a replica that lost Redis or its gateway, or is draining, gets no new events.
- ``GET /metrics``: :mod:`core.ops.metrics` in Prometheus' text format.

:class:`WebServer` runs an aiohttp application on ``host:port``; Slack adds its events
route to the same application.
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web

from core.errors import ConfigError, SessionStoreError
from core.ops import metrics
from core.redis import guarded

__all__ = [
    "HEALTH_PATH",
    "LISTEN_BACKLOG",
    "METRICS_PATH",
    "READY_PATH",
    "Probes",
    "WebServer",
    "add_ops_routes",
]

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

# Connections the kernel completes and holds for the server to accept. aiohttp's default
# (128) overflows when Slack delivers a burst of events to one replica (HTTP mode: one
# connection per event): the kernel then drops the extra SYNs, the client tries again after
# 1 s and 3 s, and an event not in by Slack's 3 s ack deadline fails (1,000 mentions at
# once across 10 bots lost 64 that way in the benchmark). The kernel caps it at
# net.core.somaxconn (4096 by default since Linux 5.4).
LISTEN_BACKLOG = 1024

# A readiness probe must answer before the orchestrator's own timeout (1 s by default in
# Kubernetes): a Redis that takes longer than this to PING counts as down.
_PING_TIMEOUT = 0.8

Check = Callable[[], bool | Awaitable[bool]]
Details = Callable[[], Awaitable[dict[str, Any]]]


@dataclass(slots=True)
class Probes:
    """What the endpoints ask the bot: Redis, its platform connection, whether it drains.

    ``details`` adds bot-specific facts to ``/healthz``'s body (mode, team, replies).
    """

    redis: aioredis.Redis
    platform_ready: Check
    draining: Callable[[], bool] = field(default=lambda: False)
    details: Details | None = None
    ping_timeout: float = _PING_TIMEOUT
    problems: Callable[[], dict[str, str]] | None = None
    """What else the bot knows is wrong, by component (a revoked token: the reason names
    the variable to fix)."""

    async def not_ready(self) -> dict[str, str]:
        """What is not ready, by component (empty when ready)."""
        problems: dict[str, str] = {}
        if self.draining():
            problems["shutdown"] = "the bot is shutting down"
        try:
            await guarded("PING", self.redis.ping(), within=self.ping_timeout)
        except SessionStoreError as exc:
            problems["redis"] = str(exc)
        try:
            connected = self.platform_ready()
            if inspect.isawaitable(connected):
                async with asyncio.timeout(self.ping_timeout):
                    connected = await connected
        except Exception as exc:
            connected, problems["platform"] = False, f"check failed: {exc!r}"
        if not connected:
            problems.setdefault("platform", "not connected")
        if self.problems is not None:
            problems.update(self.problems())
        return problems


def add_ops_routes(app: web.Application, probes: Probes) -> None:
    """Add ``/healthz``, ``/readyz`` and ``/metrics`` to ``app``."""

    async def healthz(request: web.Request) -> web.Response:
        report: dict[str, Any] = {"ok": True}
        if probes.details is not None:
            # Liveness answers 200 whatever the details do: a 500 (or a hang past the
            # probe's timeout) here would have the orchestrator restart a live process.
            try:
                async with asyncio.timeout(probes.ping_timeout):
                    report.update(await probes.details())
            except Exception as exc:
                report["details"] = f"unavailable: {exc!r}"
            report["ok"] = True
        return web.json_response(report)

    async def readyz(request: web.Request) -> web.Response:
        problems = await probes.not_ready()
        if problems:
            return web.json_response({"ready": False, "not_ready": problems}, status=503)
        return web.json_response({"ready": True})

    async def metrics_text(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.CONTENT_TYPE
        return response

    app.router.add_get(HEALTH_PATH, healthz)
    app.router.add_get(READY_PATH, readyz)
    app.router.add_get(METRICS_PATH, metrics_text)


class WebServer:
    """Runs an aiohttp application on ``host:port`` (port 0: any free port, see :attr:`url`)."""

    def __init__(self, application: web.Application, *, host: str, port: int) -> None:
        # A short grace on shutdown: probes and Slack's requests answer in milliseconds.
        self._runner = web.AppRunner(application, shutdown_timeout=2.0)
        self.host = host
        self.port = port

    async def start(self, *, host_variable: str | None = None) -> None:
        """Listen. With ``host_variable`` (a bot's, not the playground's flags), an address
        it cannot listen on is a :class:`ConfigError` naming the setting to change —
        ``host_variable`` for a host that does not resolve or is not this machine's, else
        ``PORT`` (taken, or not allowed) — rather than a traceback from the event loop."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=LISTEN_BACKLOG)
        try:
            await site.start()
        except OSError as exc:
            if host_variable is None:
                raise
            await self._runner.cleanup()
            bad_host = isinstance(exc, socket.gaierror) or exc.errno == errno.EADDRNOTAVAIL
            reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or exc
            where = f"{self.host}:{self.port}"
            raise ConfigError(
                host_variable if bad_host else "PORT", f"cannot listen on {where}: {reason}"
            ) from None
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self._runner.cleanup()
