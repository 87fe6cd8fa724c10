"""What Discord does around every REST call: authentication, rate limits (with their
headers on every response), injected faults, and the call record tests assert on.

Order per request: parse the body (so even refused calls are recorded with it) → an
outage (``down``: 503 for everything) → check
``Authorization: Bot <token>`` → an injected fault, if one matches → the global limit (per
token; interaction callbacks and webhooks are exempt, as on Discord) → the route's bucket →
access to the channel named (403 / 50001, ``restrictions``) → the handler. Message create
and edit share one bucket per channel.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from .bodies import Body, read_body
from .errors import ApiError, unauthorized
from .models import Call
from .ratelimits import Hit, Window, rate_limited_response
from .responses import json_response
from .restrictions import check_access
from .state import STATE, AnswerLost, Fault, SimState

__all__ = ["API_PREFIX", "BODY", "discord_middleware"]

API_PREFIX = "/api/v10"
BODY = web.RequestKey("discord_sim_body", Body)  # the parsed body, for handlers

_CHANNEL_MESSAGE_ROUTES = {
    ("POST", "/channels/{channel_id}/messages"),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
}
_TOKENLESS = ("/interactions/", "/webhooks/")


def _window(state: SimState, method: str, route: str, params: dict[str, str]) -> Window:
    config = state.config
    if (method, route) in _CHANNEL_MESSAGE_ROUTES:
        name, limit, period = "channel-messages", config.channel_limit, config.channel_window
    else:
        name, limit, period = f"{method} {route}", config.route_limit, config.route_window
    major = "+".join(
        params[k] for k in ("channel_id", "guild_id", "webhook_id", "webhook_token") if k in params
    )
    return state.limiter.window(name, major, limit=limit, period=period)


def _fault_response(fault: Fault, headers: dict[str, str]) -> web.Response:
    if fault.status == 429:
        scope = "global" if fault.is_global else "user"
        return rate_limited_response(Hit(fault.retry_after, fault.is_global, scope), headers)
    response = ApiError(fault.status, fault.code, fault.message).response()
    response.headers.update(headers)
    return response


async def _respond(
    request: web.Request, handler: Handler, state: SimState, route: str, body: Body | ApiError
) -> web.StreamResponse:
    if state.down:
        # An outage: Discord's edge answers 503. discord.py raises DiscordServerError on it
        # at once (discord/http.py ``HTTPClient.request``: only 500/502/504/524 are retried
        # there, a few times, before the same error).
        return ApiError(503, 0, "Service Unavailable").response()
    params = dict(request.match_info)
    tokenless = route.startswith(_TOKENLESS)
    if not tokenless and request.headers.get("Authorization") != f"Bot {state.config.token}":
        return unauthorized().response()
    window = _window(state, request.method, route, params)
    channel_id = int(params["channel_id"]) if "channel_id" in params else None
    fault = state.take_fault(request.method, route, channel_id)
    if fault is not None:
        return _fault_response(fault, window.headers(state.limiter.now()))
    hit = None if tokenless else state.limiter.take_global(state.config.token)
    hit = hit or state.limiter.take(window)
    if hit is not None:
        return rate_limited_response(hit, window.headers(state.limiter.now()))
    if isinstance(body, ApiError):
        response: web.StreamResponse = body.response()
    else:
        request[BODY] = body
        try:
            if channel_id is not None:
                check_access(state, channel_id)  # 50001 before anything else (restrictions)
            response = await handler(request)
        except ApiError as exc:
            response = exc.response()
    response.headers.update(window.headers(state.limiter.now()))
    return response


@web.middleware
async def discord_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith(API_PREFIX):
        return await handler(request)
    if request.match_info.http_exception is not None:
        status = request.match_info.http_exception.status
        return json_response({"message": f"{status}: Not Found", "code": 0}, status=status)
    state = request.app[STATE]
    resource = request.match_info.route.resource
    route = resource.canonical.removeprefix(API_PREFIX) if resource is not None else ""
    arrived = state.limiter.now()
    body: Body | ApiError
    try:
        body = await read_body(request, state.config)
    except ApiError as exc:
        body = exc
    response = await _respond(request, handler, state, route, body)
    parsed = body if isinstance(body, Body) else Body()
    call = Call(
        method=request.method,
        route=route,
        path=request.path.removeprefix(API_PREFIX),
        params=dict(request.match_info),
        json=parsed.json,
        files=[(f.filename, len(f.data)) for f in parsed.files],
        status=response.status,
        time=arrived,
        query=dict(request.query),
    )
    await state.record(call)
    try:
        await state.after.run(call)
    except AnswerLost:
        if request.transport is not None:
            request.transport.close()  # applied, never answered (see AnswerLost)
    return response
