"""The bot's HTTP side: ``POST /slack/events`` (HTTP mode) and the operations endpoints
(``/healthz``, ``/readyz``, ``/metrics``; both modes, see :mod:`core.ops.http`).

In HTTP mode every request's signature is checked on its raw bytes first
(:mod:`bots.slack.signature`): an unsigned request gets 401 before anything decodes, parses
or logs it, except Slack's own unsigned ``ssl_check=1``, answered 200 and dispatched
nowhere. A signed body bolt cannot read gets 400 (never a 500 and a traceback). bolt then
acknowledges events before its listeners run, so Slack's 3-second deadline is met whatever
the agent does. While the bot drains on shutdown, events get 503 instead of an
acknowledgement that would drop them: Slack retries them, and the load balancer sends the
retry to a replica that is ready. In Socket Mode events arrive over the websocket and this
server only answers the probes, on the same ``PORT``.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bots.slack.signature import SignatureCheck
from core.ops.http import HEALTH_PATH, Probes, WebServer, add_ops_routes

__all__ = ["EVENTS_PATH", "HEALTH_PATH", "WebServer", "web_app"]

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def web_app(app: AsyncApp | None, probes: Probes, *, signing_secret: str = "") -> web.Application:
    """The aiohttp application; ``app`` None (Socket Mode) serves only the probes."""
    server = web.Application()
    add_ops_routes(server, probes)
    if app is not None:
        signed = SignatureCheck(signing_secret)

        async def events(request: web.Request) -> web.Response:
            if probes.draining():
                return web.json_response({"ok": False, "error": "shutting_down"}, status=503)
            body = await request.read()
            if _ssl_check(body, request.content_type):
                return web.Response(status=200)
            if not signed(body, request.headers):
                return web.json_response({"error": "invalid request"}, status=401)
            bolt_request = _bolt_request(body, request)
            if bolt_request is None:
                return web.json_response({"error": "unreadable body"}, status=400)
            return await to_aiohttp_response(await app.async_dispatch(bolt_request))

        server.router.add_post(EVENTS_PATH, events)
    return server


def _ssl_check(body: bytes, content_type: str) -> bool:
    """Whether this is Slack checking a slash command's Request URL: ``ssl_check=1`` (and
    the legacy ``token``), which Slack sends *unsigned* (slackapi/bolt-js#1397). It is
    answered 200 and goes nowhere, so only that exact form qualifies: a body adding a
    ``payload`` or a ``command`` (slackapi/bolt-js#2898) stays an unsigned request."""
    if content_type != "application/x-www-form-urlencoded" or len(body) > 512:
        return False
    try:
        fields = parse_qsl(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    names = [name for name, _ in fields]
    return (
        ("ssl_check", "1") in fields
        and len(names) == len(set(names))
        and set(names) <= {"ssl_check", "token"}
    )


def _bolt_request(body: bytes, request: web.Request) -> AsyncBoltRequest | None:
    """The signed request as bolt reads it, or None when its body is not an object."""
    try:
        parsed = AsyncBoltRequest(
            body=body.decode("utf-8"),
            query=request.query_string,
            headers=request.headers,  # type: ignore[arg-type]
        )
    except Exception as exc:  # JSON errors, arrays bolt cannot index, bad UTF-8...
        log.warning("signed Slack request with an unreadable body (%d bytes): %r",
                    len(body), type(exc).__name__)  # fmt: skip
        return None
    return parsed if isinstance(parsed.body, dict) else None
