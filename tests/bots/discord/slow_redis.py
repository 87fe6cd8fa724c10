"""A TCP proxy in front of the test Redis that can hold every reply for a while: a slow
Redis (a busy server, a congested network) without touching the real one.

``async with SlowRedis(redis_url) as redis:`` — point the bot at ``redis.url``, then set
``redis.delay`` (seconds each chunk Redis sends back is held; 0 passes it straight on).
The Redis behind it is the real one: every command still runs, only later.
``redis.swallow(pattern)``: the next command whose bytes hold ``pattern`` (a Lua script's
SHA1, say) is never passed on, so it never gets an answer — a Redis too busy to answer that
one call in time, at a precise point of a turn, while every other command runs.
``redis.swallow(pattern, every=True)``: every such command, from now on (a Redis that never
answers one kind of call: the lock heartbeats, say, while the rest of the turn goes on).
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit, urlunsplit

from core.lifecycle import Lifecycle

__all__ = ["SlowRedis"]

_CHUNK = 65536


class SlowRedis(Lifecycle):
    """See the module docstring."""

    def __init__(self, target_url: str) -> None:
        self.target = urlsplit(target_url)
        self.delay = 0.0
        self.swallowed: list[bytes] = []  # commands held back for ever (see swallow)
        self._swallow: list[bytes] = []
        self._swallow_every: list[bytes] = []
        self.url = ""
        self._server: asyncio.Server | None = None
        self._pumps: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        auth = self.target.netloc.rpartition("@")[0]
        netloc = f"{auth}@127.0.0.1:{port}" if auth else f"127.0.0.1:{port}"
        # A unix socket URL carries no database in its path; a redis:// one may.
        path = "" if self.target.scheme == "unix" else self.target.path
        self.url = urlunsplit(("redis", netloc, path, self.target.query, ""))

    def swallow(self, pattern: bytes, *, every: bool = False) -> None:
        """The next command holding ``pattern`` (``every``: each one) never reaches Redis
        (see the module)."""
        (self._swallow_every if every else self._swallow).append(pattern)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for pump in list(self._pumps):
            pump.cancel()
        await asyncio.gather(*self._pumps, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _open_target(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.target.scheme == "unix":
            return await asyncio.open_unix_connection(self.target.path)
        return await asyncio.open_connection(self.target.hostname, self.target.port or 6379)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await self._open_target()
        pumps = (
            asyncio.create_task(self._pump(reader, upstream_writer, slow=False)),
            asyncio.create_task(self._pump(upstream_reader, writer, slow=True)),
        )
        self._pumps.update(pumps)
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
            self._pumps.difference_update(pumps)
            for end in (writer, upstream_writer):
                end.close()

    async def _pump(
        self, source: asyncio.StreamReader, sink: asyncio.StreamWriter, *, slow: bool
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while chunk := await source.read(_CHUNK):
                if not slow and self._held_back(chunk):
                    continue
                if slow and self.delay > 0:
                    await asyncio.sleep(self.delay)  # the latency being modelled
                sink.write(chunk)
                await sink.drain()

    def _held_back(self, chunk: bytes) -> bool:
        if any(pattern in chunk for pattern in self._swallow_every):
            self.swallowed.append(chunk)
            return True
        for pattern in self._swallow:
            if pattern in chunk:
                self._swallow.remove(pattern)
                self.swallowed.append(chunk)
                return True
        return False
