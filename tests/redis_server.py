"""Start a throwaway embedded Redis for tests, outside any event loop.

The session-scoped fixture cannot use the async :class:`EmbeddedRedis` directly (each test
has its own loop), so this runs ``start``/``stop`` in short-lived loops of their own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.sessions.embedded import EmbeddedRedis


@contextmanager
def start_test_redis(data_dir: Path) -> Iterator[str]:
    server = EmbeddedRedis(data_dir)
    url = asyncio.run(server.start())
    try:
        yield url
    finally:
        asyncio.run(_stop(server))


async def _stop(server: EmbeddedRedis) -> None:
    await server.stop()
