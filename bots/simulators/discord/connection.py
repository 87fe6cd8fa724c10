"""One gateway websocket and one gateway session.

A ``Connection`` writes frames from a single task, so frames keep their order and the
``zlib-stream`` deflate context sees them in sequence. A ``GatewaySession`` outlives its
connection and keeps its recent dispatches, numbered, so a RESUME can replay them.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .ratelimits import Window

__all__ = ["Connection", "GatewaySession"]

JsonDict = dict[str, Any]


class Connection:
    """One websocket; a single writer task keeps frames (and the zlib stream) in order."""

    def __init__(
        self, ws: web.WebSocketResponse, *, compress: str | None, received: Window
    ) -> None:
        self.ws = ws
        self.compress = compress  # what the client asked for in the URL's query
        self.received = received  # the gateway send rate limit: the client's events so far
        self.heartbeat = asyncio.Event()  # set by each heartbeat, for the server's watchdog
        # A zombie: the socket stays open and is read, but nothing is written to it (no
        # HEARTBEAT_ACK, no dispatch); the session still numbers and logs its dispatches.
        self.silent = False
        self._deflate = zlib.compressobj() if compress == "zlib-stream" else None
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._writer = asyncio.create_task(self._write(), name="discord-sim-gateway-writer")

    def send(self, frame: JsonDict | str) -> None:
        if not self.silent:
            self._queue.put_nowait(frame if isinstance(frame, str) else json.dumps(frame))

    async def _write(self) -> None:
        while (text := await self._queue.get()) is not None:
            try:
                if self._deflate is None:
                    await self.ws.send_str(text)
                else:
                    packed = self._deflate.compress(text.encode()) + self._deflate.flush(
                        zlib.Z_SYNC_FLUSH
                    )
                    await self.ws.send_bytes(packed)
            except (ConnectionError, RuntimeError):
                pass  # the peer went away; the read loop notices and detaches the session
            finally:
                self._queue.task_done()
        self._queue.task_done()

    async def drain(self) -> None:
        await self._queue.join()

    async def close(self, code: int, reason: str = "") -> None:
        """Send what is queued, then close with a gateway close code."""
        await self.drain()
        await self.ws.close(code=code, message=reason.encode())

    async def stop(self) -> None:
        self._queue.put_nowait(None)
        await self._writer


@dataclass(eq=False)
class GatewaySession:
    """An identified session: survives its connection, so RESUME can replay."""

    id: str
    token: str
    intents: int
    shard: tuple[int, int] | None
    identify: JsonDict
    log: deque[tuple[int, str]]
    seq: int = 0
    connection: Connection | None = None
    replay_from: int | None = None  # set by a test to redeliver from this seq on RESUME
    resumed: asyncio.Event = field(default_factory=asyncio.Event)

    def wants_guild(self, guild_id: int | None) -> bool:
        if self.shard is None:
            return True
        shard_id, count = self.shard
        if guild_id is None:
            return shard_id == 0  # DMs go to shard 0
        return (guild_id >> 22) % count == shard_id

    def frame(self, name: str, data: Any) -> str:
        self.seq += 1
        text = json.dumps({"op": 0, "t": name, "s": self.seq, "d": data})
        self.log.append((self.seq, text))
        return text
