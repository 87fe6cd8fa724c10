"""The page's web server: the static page, its live feed, and the people's actions.

``GET /`` the page (plain HTML, CSS and JavaScript under ``static/``, no build step);
``GET /events`` server-sent events (a snapshot, then updates; browsers reconnect by
themselves); ``POST /api/{platform}/post|press|submit|cancel|busy`` a person posts, presses a
button, submits or closes a dialog the bot opened, or switches busy mode;
``GET /files/{platform}/{id}`` a file shared in a message.
Bad input is answered 400 with ``{"error": ...}``, which the page shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import mimetypes
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from aiohttp import web

from bots.playground.feed import Feed
from bots.playground.guard import guard
from bots.playground.pane import Json, Pane, PaneError
from bots.playground.texts import PORT_TAKEN
from core.errors import ConfigError
from core.ops.http import WebServer

__all__ = ["STATIC_DIR", "page_server", "web_app"]

STATIC_DIR = Path(__file__).with_name("static")
KEEPALIVE = 15.0  # seconds between comments on an idle event stream (proxies, dead pages)
FEED = web.AppKey("playground_feed", Feed)

Action = Callable[[Pane, Json], Awaitable[Json]]


@contextlib.asynccontextmanager
async def page_server(feed: Feed, *, host: str, port: int) -> AsyncIterator[WebServer]:
    """Serve the page on ``host:port`` (0: any free port) while the block runs.

    A port that cannot be bound is a :class:`ConfigError` naming ``--port``.
    """
    server = WebServer(web_app(feed, host=host), host=host, port=port)
    try:
        await server.start()
    except OSError as exc:
        reason = "already in use" if exc.errno == errno.EADDRINUSE else exc.strerror or str(exc)
        problem = PORT_TAKEN.format(host=host, port=port, reason=reason)
        raise ConfigError("--port", problem) from None
    try:
        yield server
    finally:
        feed.end_pages()  # so the server need not wait for their streams to time out
        await server.stop()


def web_app(feed: Feed, *, host: str) -> web.Application:
    """The page's routes; ``host`` is the address it is served on (see ``guard``)."""
    app = web.Application(middlewares=[guard(host)])
    app[FEED] = feed
    app.router.add_get("/", _index)
    app.router.add_get("/events", _events)
    app.router.add_post("/api/{platform}/{action}", _action)
    app.router.add_get("/files/{platform}/{file_id}", _file)
    app.router.add_static("/static/", STATIC_DIR)
    return app


async def _index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def _events(request: web.Request) -> web.StreamResponse:
    feed = request.app[FEED]
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    snapshot, subscription = feed.subscribe()
    try:
        await response.write(_event(snapshot))
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE):
                    update = await subscription.next()
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            if update is None:
                break
            await response.write(_event(update))
    except (ConnectionResetError, ConnectionError):
        pass  # the page went away
    finally:
        feed.unsubscribe(subscription)
    return response


def _event(data: Json) -> bytes:
    return f"data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


async def _action(request: web.Request) -> web.Response:
    feed = request.app[FEED]
    pane = feed.panes.get(request.match_info["platform"])
    action = _ACTIONS.get(request.match_info["action"])
    if pane is None or action is None:
        return _error("no such platform or action", status=404)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        answer = await action(pane, body)
    except (ValueError, KeyError, TypeError) as exc:
        return _error(f"bad request: {exc}")
    except PaneError as exc:
        return _error(str(exc))
    finally:
        feed.refresh(pane.platform)
    return web.json_response(answer)


def _error(message: str, *, status: int = 400) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _text(body: Json, key: str, *, optional: bool = False) -> str | None:
    value = body.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string")
    return value


async def _post(pane: Pane, body: Json) -> Json:
    message = await pane.post(
        channel=str(_text(body, "channel")),
        user=str(_text(body, "user")),
        text=str(_text(body, "text")),
        thread=_text(body, "thread", optional=True),
    )
    return {"id": message}


async def _press(pane: Pane, body: Json) -> Json:
    await pane.press(
        message=str(_text(body, "message")),
        action=str(_text(body, "action")),
        user=str(_text(body, "user")),
        value=_text(body, "value", optional=True),
    )
    return {}


async def _submit(pane: Pane, body: Json) -> Json:
    values = body.get("values")
    if not isinstance(values, dict):
        raise ValueError("'values' must be an object")
    await pane.submit(dialog=str(_text(body, "dialog")), values=values)
    return {}


async def _cancel(pane: Pane, body: Json) -> Json:
    pane.cancel(dialog=str(_text(body, "dialog")))
    return {}


async def _busy(pane: Pane, body: Json) -> Json:
    on = body.get("on")
    if not isinstance(on, bool):
        raise ValueError("'on' must be true or false")
    pane.set_busy(on)
    return {"busy": pane.busy}


_ACTIONS: dict[str, Action] = {
    "post": _post,
    "press": _press,
    "submit": _submit,
    "cancel": _cancel,
    "busy": _busy,
}


async def _file(request: web.Request) -> web.Response:
    pane = request.app[FEED].panes.get(request.match_info["platform"])
    found = pane.file(request.match_info["file_id"]) if pane is not None else None
    if found is None:
        return _error("no such file", status=404)
    kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
    safe_name = "".join(c for c in found.name if c.isprintable() and c not in '"\\')
    # An agent's file is untrusted: only pictures are shown in the page, anything else is
    # downloaded, and nothing it contains may run as the page (sandbox, no sniffing).
    shown = kind.startswith("image/") and kind != "image/svg+xml"
    headers = {
        "Content-Disposition": f'{"inline" if shown else "attachment"}; filename="{safe_name}"',
        "Content-Security-Policy": "sandbox",
        "X-Content-Type-Options": "nosniff",
    }
    return web.Response(body=found.data, content_type=kind, headers=headers)
