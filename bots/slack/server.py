"""The bot's HTTP side: ``POST /slack/events`` (HTTP mode) and ``GET /healthz`` (both modes).

In HTTP mode bolt verifies each request's signature (a bad one gets 401) and acknowledges
events before its listeners run, so Slack's 3-second deadline is met whatever the agent
does. In Socket Mode events arrive over the websocket and this server only answers health
checks, on the same ``PORT``, for the orchestrator's probes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "WebServer", "web_app"]

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"

Health = Callable[[], Awaitable[dict[str, Any]]]


def web_app(app: AsyncApp | None, health: Health) -> web.Application:
    """The aiohttp application; ``app`` None serves only the health check."""
    server = web.Application()

    async def healthz(request: web.Request) -> web.Response:
        report = await health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    server.router.add_get(HEALTH_PATH, healthz)
    if app is not None:

        async def events(request: web.Request) -> web.Response:
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        server.router.add_post(EVENTS_PATH, events)
    return server


class WebServer:
    """Runs a :func:`web_app` on ``host:port`` (port 0: any free port, see :attr:`url`)."""

    def __init__(self, application: web.Application, *, host: str, port: int) -> None:
        # A short grace on shutdown: Slack's requests are acked in milliseconds.
        self._runner = web.AppRunner(application, shutdown_timeout=2.0)
        self.host = host
        self.port = port

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self._runner.cleanup()
