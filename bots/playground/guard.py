"""Other web pages open in the user's browser must not drive the playground.

The playground can call a real agent (with the user's key), so two cheap checks:

- A POST must carry ``Content-Type: application/json``: a page on another origin cannot
  send that without a CORS preflight, which this server never approves (forms and
  ``no-cors`` requests can only send text, form or multipart bodies; Fetch standard,
  "CORS-safelisted request-header").
- Served on a loopback address, a request must name a loopback host: a DNS-rebinding page
  (its own name resolving to 127.0.0.1) sends its own name in ``Host``.
"""

from __future__ import annotations

import ipaddress

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

__all__ = ["guard", "is_loopback"]

_LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


def guard(bound_host: str) -> Middleware:
    loopback_only = is_loopback(bound_host)

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if loopback_only and not is_loopback(request.url.host or ""):
            return web.json_response({"error": "unknown host"}, status=421)
        if request.method == "POST" and request.content_type != "application/json":
            return web.json_response({"error": "send JSON (application/json)"}, status=415)
        return await handler(request)

    return check


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 bracketed or not) is this machine's own."""
    name = host.strip("[]").lower()
    if name in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False
