"""The bot's HTTP side: ``POST /slack/events`` (HTTP mode) and the operations endpoints
(``/healthz``, ``/readyz``, ``/metrics``; both modes, see :mod:`core.ops.http`).

In HTTP mode bolt verifies each request's signature (a bad one gets 401) and acknowledges
events before its listeners run, so Slack's 3-second deadline is met whatever the agent
does. While the bot drains on shutdown, events get 503 instead of an acknowledgement that
would drop them: Slack retries them, and the load balancer sends the retry to a replica
that is ready. In Socket Mode events arrive over the websocket and this server only answers
the probes, on the same ``PORT``.
"""

from __future__ import annotations

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from core.ops.http import HEALTH_PATH, Probes, WebServer, add_ops_routes

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "WebServer", "web_app"]

EVENTS_PATH = "/slack/events"


def web_app(app: AsyncApp | None, probes: Probes) -> web.Application:
    """The aiohttp application; ``app`` None (Socket Mode) serves only the probes."""
    server = web.Application()
    add_ops_routes(server, probes)
    if app is not None:

        async def events(request: web.Request) -> web.Response:
            if probes.draining():
                return web.json_response({"ok": False, "error": "shutting_down"}, status=503)
            bolt_request = await to_bolt_request(request)
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        server.router.add_post(EVENTS_PATH, events)
    return server
