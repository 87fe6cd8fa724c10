"""Discord's rate limits: fixed-window buckets per route and per channel, and a global limit.

Discord (discord-api-docs, Topics > Rate Limits) answers every request with
``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket``; a request over a limit gets 429
with ``Retry-After``, JSON ``{message, retry_after, global}`` and ``X-RateLimit-Scope``
(plus ``X-RateLimit-Global`` for the global one). discord.py only trusts a 429 that carries
a ``Via`` header (without it, it assumes a Cloudflare ban and raises), so every 429 here has
one. A window opens at its first request and resets ``window`` seconds later, which is how
Discord's buckets behave as seen from a client.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from .responses import json_response

__all__ = ["Hit", "RateLimiter", "Window", "rate_limited_response"]


@dataclass(slots=True)
class Window:
    """One fixed window: ``limit`` requests, then wait until ``reset_at``."""

    limit: int
    window: float
    bucket: str
    remaining: int = 0
    reset_at: float | None = None

    def take(self, now: float) -> float | None:
        """Use one request; returns the seconds to wait when the window is exhausted."""
        if self.reset_at is None or now >= self.reset_at:
            self.reset_at = now + self.window
            self.remaining = self.limit
        if self.remaining <= 0:
            return self.reset_at - now
        self.remaining -= 1
        return None

    def headers(self, now: float) -> dict[str, str]:
        if self.reset_at is None or now >= self.reset_at:
            remaining, reset_after = self.limit, self.window  # a fresh window
        else:
            remaining, reset_after = self.remaining, self.reset_at - now
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(remaining),
            # Reset is wall-clock epoch seconds; Reset-After is what discord.py uses.
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self.bucket,
        }


@dataclass(slots=True, frozen=True)
class Hit:
    """A request refused for rate limiting."""

    retry_after: float
    is_global: bool
    scope: str  # "user" (this bucket), "global", or "shared" (a resource's shared bucket)


class RateLimiter:
    """Owns every window; the server asks it before handling each request."""

    def __init__(
        self, *, global_limit: int, global_window: float, clock: Callable[[], float]
    ) -> None:
        self._global_limit = global_limit
        self._global_window = global_window
        self._clock = clock
        self._globals: dict[str, Window] = {}
        self._buckets: dict[tuple[str, str], Window] = {}

    @staticmethod
    def bucket_hash(name: str) -> str:
        return hashlib.sha1(name.encode()).hexdigest()[:16]

    def window(self, name: str, major: str, *, limit: int, period: float) -> Window:
        """The window of bucket ``name`` for one major parameter (channel, guild, webhook)."""
        key = (name, major)
        found = self._buckets.get(key)
        if found is None:
            found = self._buckets[key] = Window(limit, period, self.bucket_hash(name))
        return found

    def take_global(self, token: str) -> Hit | None:
        window = self._globals.get(token)
        if window is None:
            window = self._globals[token] = Window(
                self._global_limit, self._global_window, "global"
            )
        wait = window.take(self._clock())
        return None if wait is None else Hit(wait, is_global=True, scope="global")

    def take(self, window: Window) -> Hit | None:
        wait = window.take(self._clock())
        return None if wait is None else Hit(wait, is_global=False, scope="user")

    def now(self) -> float:
        return self._clock()


def rate_limited_response(
    hit: Hit,
    headers: dict[str, str],
    *,
    code: int | None = None,
    message: str = "You are being rate limited.",
) -> web.Response:
    """The 429 Discord sends, with everything discord.py looks at; ``code`` for the limits
    that carry a JSON error code (30046, edits of hour-old messages)."""
    retry_after = round(max(hit.retry_after, 0.001), 3)
    out = dict(headers)
    out.update(
        {
            "Retry-After": str(max(1, math.ceil(retry_after))),
            "X-RateLimit-Scope": hit.scope,
            "Via": "1.1 google",
        }
    )
    if hit.is_global:
        out["X-RateLimit-Global"] = "true"
    body: dict[str, object] = {
        "message": message,
        "retry_after": retry_after,
        "global": hit.is_global,
    }
    if code is not None:
        body["code"] = code
    return json_response(body, status=429, headers=out)
