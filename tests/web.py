"""An aiohttp app served on a free loopback port for the length of a block: the tests'
stand-ins for file stores, webhooks, internal services and Slack apps."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

__all__ = ["serving"]


@asynccontextmanager
async def serving(
    app: web.Application,
    *,
    tls: ssl.SSLContext | None = None,
    shutdown_timeout: float = 60.0,
) -> AsyncIterator[str]:
    """The app's base URL (``http://127.0.0.1:PORT``; ``https`` with ``tls``) while the
    block runs; ``shutdown_timeout``: how long the cleanup lets open requests finish."""
    runner = web.AppRunner(app, shutdown_timeout=shutdown_timeout)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=tls).start()
        yield f"{'https' if tls else 'http'}://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
