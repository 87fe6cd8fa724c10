"""Reading an agent's stream in batches (core/agents/batching.py): while the relay says its
text waits anyway (``READ_HOLD``), the stream goes unread for that long and what gathered in
the socket comes as one chunk; the text is the same, in order, and an error after some text
still comes after that text. Both wire formats, through the real HTTP client against a
server that writes when the test says (so what gathers during a hold is known)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import pytest
from aiohttp import web

from core.agents.batching import READ_HOLD
from core.agents.history import MemoryHistory
from core.agents.lyzr import LyzrAgent
from core.agents.openai_compat import OpenAIAgent
from core.errors import AgentServerError
from tests.agents.conftest import FAST
from tests.web import serving

TOKENS = [f" t{k}" for k in range(10)]


class Pacer:
    """A Lyzr- and OpenAI-format server writing the next ``n`` tokens (each in a write of
    its own) when :meth:`write` says so; ``error_at``: an error event instead of that token."""

    def __init__(self, *, error_at: int | None = None) -> None:
        self.orders: asyncio.Queue[int] = asyncio.Queue()
        self.error_at = error_at
        self.requests = 0
        self.app = web.Application()
        self.app.router.add_post("/v3/inference/stream/", self._lyzr)
        self.app.router.add_get("/v3/artifacts/", self._artifacts)
        self.app.router.add_post("/v1/chat/completions", self._openai)

    def write(self, n: int) -> None:
        self.orders.put_nowait(n)

    async def _lyzr(self, request: web.Request) -> web.StreamResponse:
        return await self._stream(
            request, lambda t: f"data: {t}\n\n", "data: [ERROR] model exploded\n\n"
        )

    async def _openai(self, request: web.Request) -> web.StreamResponse:
        def chunk(text: str) -> str:
            body = {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}
            return f"data: {json.dumps(body)}\n\n"

        error = f"data: {json.dumps({'error': {'message': 'model exploded'}})}\n\n"
        return await self._stream(request, chunk, error)

    async def _artifacts(self, request: web.Request) -> web.Response:
        return web.json_response([])

    async def _stream(
        self, request: web.Request, frame: Callable[[str], str], error: str
    ) -> web.StreamResponse:
        self.requests += 1
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        sent = 0
        while sent < len(TOKENS):
            for _ in range(await self.orders.get()):
                if sent == self.error_at:
                    await response.write(error.encode())
                    return response
                await response.write(frame(TOKENS[sent]).encode())
                sent += 1
        await response.write(b"data: [DONE]\n\n")
        return response


@asynccontextmanager
async def agents(pacer: Pacer) -> AsyncIterator[tuple[LyzrAgent, OpenAIAgent]]:
    async with serving(pacer.app) as url:
        lyzr = LyzrAgent(api_key="k", agent_id="a", base_url=url, timeouts=FAST, retries=1)
        openai = OpenAIAgent(base_url=f"{url}/v1", model="m", api_key="k",
                             history=MemoryHistory(), timeouts=FAST, retries=1)  # fmt: skip
        try:
            yield lyzr, openai
        finally:
            await lyzr.aclose()
            await openai.aclose()


@contextmanager
def holding(seconds: Callable[[], float]) -> Iterator[None]:
    token = READ_HOLD.set(seconds)
    try:
        yield
    finally:
        READ_HOLD.reset(token)


async def chunks_of(agent: LyzrAgent | OpenAIAgent, pacer: Pacer, *, after_each: int) -> list[str]:
    """The stream's texts; after each one the server is told to write ``after_each``
    tokens (unless a hold does it)."""
    pacer.write(1)
    out: list[str] = []
    async for chunk in agent.stream("hi", session_id="s", user_id="u"):
        if chunk.content:
            out.append(chunk.content)
            if after_each:
                pacer.write(after_each)
    return out


@pytest.mark.parametrize("wire", ["lyzr", "openai"])
async def test_without_a_hold_each_token_is_read_as_it_comes(wire: str) -> None:
    pacer = Pacer()
    async with agents(pacer) as (lyzr, openai):
        assert await chunks_of(lyzr if wire == "lyzr" else openai, pacer, after_each=1) == TOKENS


@pytest.mark.parametrize("wire", ["lyzr", "openai"])
async def test_tokens_written_during_a_hold_come_as_one_chunk(wire: str) -> None:
    pacer = Pacer()

    def hold() -> float:  # three tokens go out while the stream is not read
        pacer.write(3)
        return 0.2

    async with agents(pacer) as (lyzr, openai):
        with holding(hold):
            chunks = await chunks_of(lyzr if wire == "lyzr" else openai, pacer, after_each=0)
    assert chunks == [" t0", " t1 t2 t3", " t4 t5 t6", " t7 t8 t9"]


async def test_a_hold_of_zero_reads_at_once() -> None:
    pacer = Pacer()
    async with agents(pacer) as (lyzr, _):
        with holding(lambda: 0.0):
            assert await chunks_of(lyzr, pacer, after_each=1) == TOKENS


@pytest.mark.parametrize("wire", ["lyzr", "openai"])
async def test_an_error_after_gathered_text_comes_after_that_text(wire: str) -> None:
    pacer = Pacer(error_at=3)

    def hold() -> float:  # t1, t2, then the error, during one hold
        pacer.write(3)
        return 0.2

    received: list[str] = []
    async with agents(pacer) as (lyzr, openai):
        agent = lyzr if wire == "lyzr" else openai
        pacer.write(1)
        with holding(hold), pytest.raises(AgentServerError, match="model exploded"):
            async for chunk in agent.stream("hi", session_id="s", user_id="u"):
                received.append(chunk.content)
    assert received == [" t0", " t1 t2"]  # every token before the error, and first
    assert pacer.requests == 1  # output was given: not retried


@pytest.mark.looptime
@pytest.mark.parametrize("wire", ["lyzr", "openai"])
async def test_a_hold_longer_than_the_idle_budget_is_not_the_servers_silence(wire: str) -> None:
    pacer = Pacer()
    async with agents(pacer) as (lyzr, openai):
        with holding(lambda: FAST.idle * 1.5):  # each next token is written during the hold
            chunks = await chunks_of(lyzr if wire == "lyzr" else openai, pacer, after_each=1)
    assert chunks == TOKENS
