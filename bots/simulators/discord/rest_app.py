"""REST routes about the bot itself: its user, its application, the gateway URL, and its
application commands (global and per guild, bulk overwrite as ``CommandTree.sync`` does).

discord.py's ``login`` calls ``GET /users/@me`` (401 → ``LoginFailure``) and
``GET /oauth2/applications/@me``; ``AutoShardedClient`` asks ``GET /gateway/bot``.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from .bodies import Body
from .errors import ApiError, invalid_form, unknown
from .middleware import API_PREFIX, BODY
from .payloads import app_info_json, user_json
from .responses import json_response
from .state import STATE, SimState

__all__ = ["app_routes"]

_COMMAND_NAME = re.compile(r"^[-_\w]{1,32}$")


async def me(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = {**user_json(state.world.bot), "verified": True, "mfa_enabled": False, "flags": 0}
    return json_response(user)


async def get_user(request: web.Request) -> web.Response:
    state = request.app[STATE]
    user = state.world.users.get(int(request.match_info["user_id"]))
    if user is None:
        raise unknown("user")
    return json_response(user_json(user))


async def application(request: web.Request) -> web.Response:
    return json_response(app_info_json(request.app[STATE].world))


async def gateway(request: web.Request) -> web.Response:
    return json_response({"url": request.app[STATE].gateway.url})


async def gateway_bot(request: web.Request) -> web.Response:
    limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
    state = request.app[STATE]
    return json_response({"url": state.gateway.url, "shards": 1, "session_start_limit": limit})


def _scope(state: SimState, request: web.Request) -> int | None:
    if request.match_info["application_id"] != str(state.world.application_id):
        raise ApiError(403, 50001, "Missing Access")
    guild = request.match_info.get("guild_id")
    if guild is not None and (not guild.isdigit() or int(guild) not in state.world.guilds):
        raise ApiError(403, 50001, "Missing Access")
    return int(guild) if guild is not None else None


def _checked(command: Any, index: int | None = None) -> dict[str, Any]:
    at = "" if index is None else f"{index}."
    if not isinstance(command, dict):
        raise invalid_form(at + "name", "BASE_TYPE_REQUIRED", "This field is required")
    name = command.get("name")
    if not isinstance(name, str) or not _COMMAND_NAME.match(name) or name != name.lower():
        raise invalid_form(at + "name", "APPLICATION_COMMAND_INVALID_NAME", "Invalid name.")
    description = command.get("description") or ""
    if command.get("type", 1) == 1 and not 1 <= len(description) <= 100:
        raise invalid_form(
            at + "description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length."
        )
    return command


async def list_commands(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return json_response(state.world.commands.scope(_scope(state, request)))


async def overwrite_commands(request: web.Request) -> web.Response:
    state = request.app[STATE]
    scope = _scope(state, request)
    body: Body = request[BODY]
    bodies = body.json if isinstance(body.json, list) else []
    checked = [_checked(c, i) for i, c in enumerate(bodies)]
    return json_response(state.world.commands.overwrite(scope, checked))


async def upsert_command(request: web.Request) -> web.Response:
    state = request.app[STATE]
    scope = _scope(state, request)
    body: Body = request[BODY]
    return json_response(state.world.commands.upsert(scope, _checked(body.json)), status=201)


async def get_command(request: web.Request) -> web.Response:
    state = request.app[STATE]
    scope = _scope(state, request)
    command_id = int(request.match_info["command_id"])
    return json_response(state.world.commands.get(scope, command_id))


async def delete_command(request: web.Request) -> web.Response:
    state = request.app[STATE]
    state.world.commands.delete(_scope(state, request), int(request.match_info["command_id"]))
    return web.Response(status=204)


def app_routes() -> list[web.RouteDef]:
    apps = API_PREFIX + "/applications/{application_id}"
    routes = [
        web.get(API_PREFIX + "/users/@me", me),
        web.get(API_PREFIX + "/users/{user_id:\\d+}", get_user),
        web.get(API_PREFIX + "/oauth2/applications/@me", application),
        web.get(API_PREFIX + "/applications/@me", application),
        web.get(API_PREFIX + "/gateway", gateway),
        web.get(API_PREFIX + "/gateway/bot", gateway_bot),
    ]
    for base in (apps + "/commands", apps + "/guilds/{guild_id}/commands"):
        routes += [
            web.get(base, list_commands),
            web.put(base, overwrite_commands),
            web.post(base, upsert_command),
            web.get(base + "/{command_id}", get_command),
            web.delete(base + "/{command_id}", delete_command),
        ]
    return routes
