"""The benchmarks' agent: a local HTTP server streaming numbered chunks on a schedule, in
OpenAI's or Lyzr's wire format, so a bot process reaches it through its real HTTP client.

Each request's reply is ``chunks`` pieces ``"00000 " "00001 " ...`` at ``rate`` per second
after ``first_token`` seconds, written on a schedule (``start + k / rate``), not
sleep-after-write, so a busy loop does not slow the agent down. The server records, per reply
(keyed by the user's text without the mention): when the request arrived and when each chunk
was written (the event loop's clock, the same as the simulators' in the same process), and
how many streams were open at once. Formats, as the local test servers speak them
(tests/servers/openai_server.py, tests/servers/lyzr_server.py):

- ``openai``: ``POST /v1/chat/completions``, ``data: {chat.completion.chunk}`` per piece, a
  ``finish_reason`` chunk, ``data: [DONE]``;
- ``lyzr``: ``POST /v3/inference/stream/``, ``data: <token>`` per piece, ``data: [DONE]``,
  and ``GET /v3/artifacts/`` answering an empty list (the client asks after every turn).

Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

__all__ = ["AgentReply", "AgentServer"]


@dataclass(slots=True)
class AgentReply:
    """One reply as the server produced it (event-loop times)."""

    requested: float = 0.0  # the request arrived
    yielded: list[float] = field(default_factory=list)  # each chunk written

    @property
    def first_token(self) -> float:
        return self.yielded[0] - self.requested if self.yielded else float("nan")


class AgentServer:
    """``async with AgentServer("openai", chunks=600) as agent:`` then point a bot at it."""

    def __init__(
        self, wire: str, *, chunks: int, rate: float = 20.0, first_token: float = 0.3
    ) -> None:
        if wire not in ("openai", "lyzr"):
            raise ValueError(f"unknown agent wire format {wire!r}")
        self.wire = wire
        self.chunks = chunks
        self.rate = rate
        self.first_token = first_token
        self.replies: dict[str, AgentReply] = {}
        self.open_streams = 0
        self.most_open = 0
        self.api_key = "bench-key"
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``OPENAI_BASE_URL`` or ``LYZR_API_BASE``."""
        root = f"http://127.0.0.1:{self.port}"
        return f"{root}/v1" if self.wire == "openai" else root

    def env(self) -> dict[str, str]:
        """The environment that points ``threadcast`` at this server."""
        if self.wire == "openai":
            return {"THREADCAST_AGENT": "openai", "OPENAI_BASE_URL": self.base_url,
                    "OPENAI_API_KEY": self.api_key, "OPENAI_MODEL": "bench"}  # fmt: skip
        return {"THREADCAST_AGENT": "lyzr", "LYZR_API_BASE": self.base_url,
                "LYZR_API_KEY": self.api_key, "LYZR_AGENT_ID": "bench"}  # fmt: skip

    def text(self) -> str:
        return "".join(f"{k:05d} " for k in range(self.chunks))

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._openai)
        app.router.add_post("/v3/inference/stream/", self._lyzr)
        app.router.add_get("/v3/artifacts/", self._artifacts)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        said = str(body["messages"][-1]["content"])

        def piece(k: int) -> bytes:
            chunk = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "bench",
                     "choices": [{"index": 0, "delta": {"content": f"{k:05d} "},
                                  "finish_reason": None}]}  # fmt: skip
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        stop = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "model": "bench",
                "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}  # fmt: skip
        tail = b"data: " + json.dumps(stop).encode() + b"\n\ndata: [DONE]\n\n"
        return await self._stream(request, said, piece, tail)

    async def _lyzr(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        return await self._stream(
            request, str(body["message"]), lambda k: f"data: {k:05d} \n\n".encode(),
            b"data: [DONE]\n\n",
        )  # fmt: skip

    async def _artifacts(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def _stream(
        self, request: web.Request, said: str, piece: Any, tail: bytes
    ) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        reply = self.replies.setdefault(said.strip(), AgentReply())
        reply.requested = loop.time()
        self.open_streams += 1
        self.most_open = max(self.most_open, self.open_streams)
        try:
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            start = reply.requested + self.first_token
            for k in range(self.chunks):
                delay = start + k / self.rate - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                reply.yielded.append(loop.time())
                await response.write(piece(k))
            await response.write(tail)
            await response.write_eof()
            return response
        finally:
            self.open_streams -= 1
