"""JSON responses typed exactly as Discord types them.

discord.py decodes a body only when ``Content-Type`` is exactly ``application/json``
(``json_or_text``); aiohttp's ``json_response`` appends ``; charset=utf-8``, which discord.py
would hand back as a plain string. Every JSON answer of the simulator goes through here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

__all__ = ["json_response"]


def json_response(
    data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    response = web.Response(
        body=json.dumps(data).encode(), status=status, content_type="application/json"
    )
    if headers:
        response.headers.update(headers)
    return response
