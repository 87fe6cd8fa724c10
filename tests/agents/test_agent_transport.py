"""The agents' httpx transport on aiohttp (core/agents/netstream.py): each httpx timeout
bounds its phase and raises httpx's exception for it, aiohttp's errors arrive as httpx's,
httpx keeps the body's decoding, and a stream closed early closes its connection."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from aiohttp import web

from core.agents.netstream import body_reader
from core.agents.transport import StreamTimeouts, agent_http_client, open_stream, read_lines
from core.errors import AgentProtocolError
from tests.web import serving

STALLED = web.AppKey("stalled", asyncio.Event)
GONE = web.AppKey("gone", asyncio.Event)


async def stall_mid_body(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"data: first\n\n")
    request.app[STALLED].set()
    await asyncio.Event().wait()  # never another byte
    return response


async def stall_before_headers(request: web.Request) -> web.Response:
    request.app[STALLED].set()
    await asyncio.Event().wait()
    return web.Response()


async def endless(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    try:
        while True:
            await response.write(b"data: more\n\n")
            await asyncio.sleep(0.01)
    except (ConnectionError, asyncio.CancelledError):
        request.app[GONE].set()  # the client went away
        raise


async def cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    await response.write(b"data: first\n\n")
    assert request.transport is not None
    request.transport.close()  # the chunked body ends without its last chunk
    return response


async def zipped(request: web.Request) -> web.Response:
    return web.Response(
        body=gzip.compress(b"data: unzipped\n\n"), headers={"Content-Encoding": "gzip"}
    )


def app() -> web.Application:
    application = web.Application()
    application[STALLED] = asyncio.Event()
    application[GONE] = asyncio.Event()
    application.router.add_get("/stall-mid-body", stall_mid_body)
    application.router.add_get("/stall-before-headers", stall_before_headers)
    application.router.add_get("/endless", endless)
    application.router.add_get("/zipped", zipped)
    application.router.add_get("/cut", cut)
    return application


@asynccontextmanager
async def silent_tcp_server() -> AsyncIterator[int]:
    """Accepts connections and never says anything (a TLS handshake never completes)."""

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client goes away
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()


@pytest.mark.looptime
async def test_silence_between_body_reads_is_a_read_timeout() -> None:
    async with serving(app()) as url, agent_http_client(2) as client:
        timeout = httpx.Timeout(5.0, read=5.0)
        async with client.stream("GET", f"{url}/stall-mid-body", timeout=timeout) as response:
            blocks = response.aiter_bytes()
            assert await anext(blocks) == b"data: first\n\n"
            with pytest.raises(httpx.ReadTimeout):
                await anext(blocks)


@pytest.mark.looptime
async def test_no_headers_within_write_and_read_is_a_read_timeout() -> None:
    async with serving(app()) as url, agent_http_client(2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(f"{url}/stall-before-headers", timeout=httpx.Timeout(5.0))


@pytest.mark.looptime
async def test_without_a_read_timeout_the_caller_bounds_the_wait() -> None:
    # The agents' streams: read=None, their own budgets (core/agents/silence.py) decide.
    application = app()
    async with serving(application) as url, agent_http_client(2) as client:
        waiting = asyncio.ensure_future(
            client.get(f"{url}/stall-before-headers", timeout=httpx.Timeout(5.0, read=None))
        )
        await application[STALLED].wait()
        await asyncio.sleep(60)  # fake time: far past every bound the transport has
        assert not waiting.done()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting


@pytest.mark.looptime
async def test_waiting_for_a_free_connection_past_its_timeout_is_a_pool_timeout() -> None:
    application = app()
    async with (
        serving(application) as url,
        agent_http_client(1) as client,
        client.stream("GET", f"{url}/stall-mid-body", timeout=None),
    ):
        await application[STALLED].wait()  # the one connection is taken
        with pytest.raises(httpx.PoolTimeout):
            await client.get(f"{url}/zipped", timeout=httpx.Timeout(None, pool=3.0))


@pytest.mark.looptime
async def test_a_tls_handshake_that_never_completes_is_a_connect_timeout() -> None:
    async with silent_tcp_server() as port, agent_http_client(2) as client:
        with pytest.raises(httpx.ConnectTimeout):
            await client.get(f"https://127.0.0.1:{port}/", timeout=httpx.Timeout(None, connect=3))


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with silent_tcp_server() as port:
        pass  # the port is free again: nothing listens on it
    async with agent_http_client(2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_httpx_decodes_the_body_once() -> None:
    async with serving(app()) as url, agent_http_client(2) as client:
        response = await client.get(f"{url}/zipped")
        assert response.text == "data: unzipped\n\n"


async def test_a_stream_closed_early_closes_its_connection() -> None:
    application = app()
    async with serving(application) as url, agent_http_client(2) as client:
        async with client.stream("GET", f"{url}/endless") as response:
            assert await anext(response.aiter_bytes())
        await application[GONE].wait()  # the server saw the client go away


async def streamed_lines(url: str, into: list[list[str]] | None = None) -> list[list[str]]:
    """The batches of lines ``read_lines`` yields for ``url`` (also kept in ``into``)."""
    batches = [] if into is None else into
    timeouts = StreamTimeouts(connect=5.0, first_token=5.0, idle=5.0)
    async with agent_http_client(2) as client:
        request = client.build_request("GET", url, timeout=timeouts.for_httpx())
        async with open_stream(client, request, timeouts) as opened:
            async for lines in read_lines(opened, timeouts):
                batches.append(lines)
    return batches


async def test_a_plain_body_is_read_from_the_transport_itself() -> None:
    async with (
        serving(app()) as url,
        agent_http_client(2) as client,
        client.stream("GET", f"{url}/endless") as response,
    ):
        body = body_reader(response)
        assert body is not None  # the per-chunk path skips httpx's body layers
        assert (await body.read()).startswith(b"data: more\n\n")


async def test_a_zipped_body_is_read_through_httpx_decoding() -> None:
    async with (
        serving(app()) as url,
        agent_http_client(2) as client,
        client.stream("GET", f"{url}/zipped") as response,
    ):
        assert body_reader(response) is None
    async with serving(app()) as url:
        assert await streamed_lines(f"{url}/zipped") == [["data: unzipped", ""]]


async def test_a_body_cut_short_read_directly_is_a_protocol_error() -> None:
    batches: list[list[str]] = []
    async with serving(app()) as url:
        with pytest.raises(AgentProtocolError, match="connection failed mid-reply"):
            await streamed_lines(f"{url}/cut", batches)
    assert batches == [["data: first", ""]]  # what came before the cut, one read's lines
