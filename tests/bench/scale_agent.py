"""The scale benchmark's agent: a Lyzr-format streaming server (``POST
/v3/inference/stream/``, ``data: <token>`` lines, ``data: [DONE]``; see DESIGN §2) whose
every reply is ``00000 00001 …`` at ``rate`` chunks per second after ``first_token``
seconds, and which records when each chunk was written and how often each message was
asked (a message asked twice is a duplicate the bot must never cause).

The message's text names the reply (``r17``): the bots strip their mention before they ask.
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import asyncio
from array import array
from collections import Counter

from aiohttp import web

__all__ = ["ScaleAgent"]


class ScaleAgent:
    def __init__(self, *, chunks: int, rate: float, first_token: float) -> None:
        self.chunks, self.rate, self.first_token = chunks, rate, first_token
        self.emitted: dict[str, array[float]] = {}  # reply id -> loop time of each chunk
        self.asked: Counter[str] = Counter()
        self.open = 0
        self.url = ""
        self.api_key = "scale-bench-key"
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/inference/stream/", self._stream)
        app.router.add_get("/v3/artifacts/", self._no_artifacts)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, backlog=4096).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _no_artifacts(self, request: web.Request) -> web.Response:
        return web.json_response([])  # asked after every reply: none here

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        rid = str(body.get("message", "")).strip()
        self.asked[rid] += 1
        times = self.emitted.setdefault(rid, array("d"))
        loop = asyncio.get_running_loop()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        self.open += 1
        try:
            start = loop.time() + self.first_token
            for k in range(self.chunks):
                # Paced from the stream's start, not the previous write: a late wake-up is
                # caught up, so the agent's rate holds however loaded the machine is.
                await asyncio.sleep(max(0.0, start + k / self.rate - loop.time()))
                await response.write(f"data: {k:05d} \n\n".encode())
                times.append(loop.time())
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except ConnectionResetError:
            pass  # the bot closed the stream (a killed replica): its reply is an orphan
        finally:
            self.open -= 1
        return response
