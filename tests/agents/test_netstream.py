"""The agents' HTTP client on the plain-asyncio network layer (core/agents/netstream.py):
TLS through ``loop.start_tls``, a body larger than the read buffer's high-water mark read
by a slow consumer, keep-alive reuse, and a server that goes away mid-body."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from core.agents.netstream import HIGH_WATER
from core.agents.transport import agent_http_client
from tests.redis.tls import make_certificates
from tests.web import serving

BIG = bytes(range(256)) * (3 * HIGH_WATER // 256)  # three high-water marks


WRITTEN = web.AppKey("written", asyncio.Event)


async def big(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse()
    await response.prepare(request)
    for start in range(0, len(BIG), 65536):
        await response.write(BIG[start : start + 65536])
    await response.write_eof()
    request.app[WRITTEN].set()
    return response


async def hello(request: web.Request) -> web.Response:
    return web.Response(text="hello")


async def cut(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": "1000"})
    await response.prepare(request)
    await response.write(b"x" * 10)
    assert request.transport is not None
    request.transport.close()  # gone before the 1000 bytes it announced
    return response


def app() -> web.Application:
    application = web.Application()
    application[WRITTEN] = asyncio.Event()
    application.router.add_get("/big", big)
    application.router.add_get("/cut", cut)
    application.router.add_get("/hello", hello)
    return application


async def read_slowly(client: httpx.AsyncClient, url: str) -> bytes:
    parts = []
    async with client.stream("GET", url) as response:
        async for block in response.aiter_bytes():
            parts.append(block)
            await asyncio.sleep(0)  # the socket keeps delivering meanwhile
    return b"".join(parts)


async def test_a_large_body_arrives_whole_through_the_buffer_limits() -> None:
    application = app()
    async with serving(application) as url, agent_http_client(4) as client:
        async with client.stream("GET", f"{url}/big") as response:
            # Nothing is read until the server has written all: the client's buffer fills
            # past its high-water mark (reading pauses), then drains (reading resumes).
            await application[WRITTEN].wait()
            body = b"".join([block async for block in response.aiter_bytes()])
        assert body == BIG


async def test_tls_and_keep_alive(tmp_path: Path) -> None:
    files = make_certificates(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files.cert, files.key)
    trust = ssl.create_default_context(cafile=str(files.ca))
    async with serving(app(), tls=server) as url, agent_http_client(4, verify=trust) as client:
        assert await read_slowly(client, f"{url}/big") == BIG
        first = await client.get(f"{url}/hello")
        second = await client.get(f"{url}/hello")
        assert first.text == second.text == "hello"
        assert first.extensions["network_stream"].get_extra_info("ssl_object") is not None


async def test_untrusted_certificate_is_a_connect_error(tmp_path: Path) -> None:
    files = make_certificates(tmp_path)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(files.cert, files.key)
    async with serving(app(), tls=server) as url, agent_http_client(4) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"{url}/hello")


async def test_a_server_gone_mid_body_is_an_error_not_a_short_body() -> None:
    async with serving(app()) as url, agent_http_client(4) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await read_slowly(client, f"{url}/cut")
        assert (await client.get(f"{url}/hello")).text == "hello"  # the pool recovers
