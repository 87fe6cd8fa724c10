"""discord.py's pruning of idle rate-limit buckets, made once a minute instead of per new one.

discord.py keeps one rate-limit bucket per route and channel, and each time a request opens
a new one (past 256), it scans them all for idle ones (``HTTPClient.
_try_clear_expired_ratelimits``: idle means no request for 300 s). A reply opens a few
(its post, its edits, its typing, in its own thread), so N replies streaming at once cost
O(N²) bucket checks: at N = 1,000, over a million per thousand replies, ~1 % of the bot's
CPU in the profile (tests/bench/README.md, "CPU per streamed reply"). Scanning at most once per
``every`` seconds keeps the same buckets (an idle one lives at most that much longer) for one scan.
"""

from __future__ import annotations

from collections.abc import Callable

from discord.http import HTTPClient

__all__ = ["prune_buckets_every"]

PRUNE_EVERY = 60.0


def prune_buckets_every(http: HTTPClient, every: float = PRUNE_EVERY) -> None:
    """Make ``http`` scan its buckets for idle ones at most once per ``every`` seconds of
    its event loop's time. A discord.py without the method is left as it is."""
    prune: Callable[[], None] | None = getattr(http, "_try_clear_expired_ratelimits", None)
    if prune is None:
        return
    last: float | None = None

    def at_most_every() -> None:
        nonlocal last
        now = http.loop.time()
        if last is not None and now - last < every:
            return
        last = now
        prune()

    http._try_clear_expired_ratelimits = at_most_every  # type: ignore[method-assign]
