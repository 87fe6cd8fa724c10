"""A compressed body is inflated no further than the download's cap: a few kilobytes of
gzip must not become gigabytes in memory before the cap is checked (a decompression bomb
as an agent's artifact link), and ordinary compressed files still arrive whole."""

from __future__ import annotations

import tracemalloc
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from core.download import DownloadRefused, TooLarge, download
from core.netguard import guarded_client
from tests.web import serving

CAP = 1024 * 1024
TEXT = b"threadcast " * 5000


def _gzip(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return packer.compress(data) + packer.flush()


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


# 64 MiB of zeros in ~64 KB: one read from the socket, which httpx inflated whole.
BOMB = _gzip(bytes(64 * CAP))
BODIES: dict[str, tuple[bytes, str]] = {
    "bomb": (BOMB, "gzip"),
    "twice": (_gzip(BOMB), "gzip, gzip"),
    "gzip": (_gzip(TEXT), "gzip"),
    "zlib": (zlib.compress(TEXT), "deflate"),
    "raw-deflate": (_raw_deflate(TEXT), "deflate"),
    "plain": (TEXT, "identity"),
    "broken": (b"not gzip at all", "gzip"),
    # Cut short by the server itself: the HTTP framing is complete, the gzip stream is not.
    "truncated": (_gzip(bytes(range(256)) * 400)[:-40], "gzip"),
    "truncated-deflate": (zlib.compress(bytes(range(256)) * 400)[:-40], "deflate"),
}


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        body, coding = BODIES[request.match_info["name"]]
        return web.Response(body=body, headers={"Content-Encoding": coding})

    app = web.Application()
    app.router.add_get("/{name}", handle)
    async with serving(app) as url:
        yield url


async def test_a_gzip_bomb_is_never_inflated_past_the_cap(base: str) -> None:
    async with guarded_client("127.0.0.1") as client:
        with pytest.raises(TooLarge) as refused:
            await download(f"{base}/bomb", client=client, max_bytes=CAP)
    # Inflated a byte past the cap, then stopped (httpx alone inflated 64 MiB at once).
    assert refused.value.size == CAP + 1


async def test_a_body_compressed_twice_is_refused(base: str) -> None:
    async with guarded_client("127.0.0.1") as client:
        with pytest.raises(DownloadRefused, match="more than once"):
            await download(f"{base}/twice", client=client, max_bytes=CAP)


@pytest.mark.parametrize("name", ["gzip", "zlib", "raw-deflate", "plain"])
async def test_compressed_files_arrive_whole(base: str, name: str) -> None:
    async with guarded_client("127.0.0.1") as client:
        spool = await download(f"{base}/{name}", client=client, max_bytes=len(TEXT))
    try:
        assert spool.size == len(TEXT) and spool.file.read() == TEXT
    finally:
        spool.close()


async def test_a_body_that_is_not_what_it_says_is_a_decoding_error(base: str) -> None:
    async with guarded_client("127.0.0.1") as client:
        with pytest.raises(httpx.DecodingError):
            await download(f"{base}/broken", client=client, max_bytes=CAP)


async def test_only_the_codings_it_inflates_are_asked_for() -> None:
    """A client that would offer more (httpx adds br and zstd when their packages are
    installed) still asks for gzip and deflate only: a brotli body would be stored as sent."""
    offered: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        offered.append(request.headers.get("Accept-Encoding", ""))
        return web.Response(body=TEXT)

    app = web.Application()
    app.router.add_get("/file", handle)
    async with serving(app) as url, guarded_client("127.0.0.1") as client:
        client.headers["Accept-Encoding"] = "gzip, deflate, br, zstd"
        spool = await download(f"{url}/file", client=client, max_bytes=len(TEXT))
        spool.close()
    assert offered == ["gzip, deflate"]


@pytest.mark.parametrize("name", ["truncated", "truncated-deflate"])
async def test_a_compressed_body_cut_short_is_a_decoding_error(base: str, name: str) -> None:
    """A gzip or deflate stream that ends before its end marker is not the file: stored,
    it would be uploaded to the thread as if whole."""
    async with guarded_client("127.0.0.1") as client:
        with pytest.raises(httpx.DecodingError, match="cut short"):
            await download(f"{base}/{name}", client=client, max_bytes=CAP)


async def test_a_large_compressed_file_is_inflated_a_block_at_a_time() -> None:
    """A file within the cap is inflated in small blocks into the spool (which keeps
    :data:`~core.download.SPOOL_IN_MEMORY` in memory), not in one block as large as the
    cap: 24 MiB of zeros fit in one 24 KB read, and a download held all of it at once."""
    size = 24 * CAP
    body = _gzip(bytes(size))

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=body, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/zeros", handle)
    async with serving(app) as url, guarded_client("127.0.0.1") as client:
        tracemalloc.start()
        try:
            spool = await download(f"{url}/zeros", client=client, max_bytes=size)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    spool.close()
    assert spool.size == size
    assert peak < 8 * CAP
