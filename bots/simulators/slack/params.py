"""Reading a Web API request the way Slack does: query string, form or JSON body, token.

slack-sdk sends ``params`` as a query string (even for POST), ``data`` as a form body and
``json`` as a JSON body; the token travels as ``Authorization: Bearer`` or as a ``token``
argument. All three encodings are merged into one dict of arguments. Arguments that carry
structures (``blocks``, ``files``, ``loading_messages``...) arrive as JSON strings in forms
and as real lists in JSON bodies; ``json_arg`` accepts both.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from bots.simulators.slack.errors import ApiError

__all__ = ["bool_arg", "int_arg", "json_arg", "read_params", "str_arg"]


async def read_params(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """All arguments of a request, and its token (None when it carries none)."""
    params: dict[str, Any] = dict(request.query)
    if request.method == "POST" and request.can_read_body:
        if request.content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as exc:
                raise ApiError("invalid_json") from exc
            if not isinstance(body, dict):
                raise ApiError("json_not_object")
            params.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
    token = params.pop("token", None)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    return params, (str(token) if token else None)


def str_arg(params: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise ApiError("invalid_arguments", detail=f"missing required argument: {name}")
        return None
    return str(value)


def bool_arg(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes")


def int_arg(params: dict[str, Any], name: str, *, required: bool = False) -> int | None:
    value = str_arg(params, name, required=required)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise ApiError("invalid_arguments", detail=f"{name} must be an integer") from exc


def json_arg(params: dict[str, Any], name: str, *, error: str = "invalid_arguments") -> Any:
    """A structured argument, sent as JSON text (forms) or as JSON itself (JSON bodies)."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ApiError(error, detail=f"{name} is not valid JSON") from exc
    return value
