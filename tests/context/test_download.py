"""Users' files are fetched with the platform's credential only on the file's own host:
redirects stay on it or are refused before anything is sent elsewhere."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core.download import DownloadRefused, download
from core.netguard import guarded_client
from tests.web import serving


@pytest.fixture
async def host() -> AsyncIterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []  # (Host header, Authorization) of each request

    async def handle(request: web.Request) -> web.StreamResponse:
        seen.append((request.host, request.headers.get("Authorization")))
        port = request.url.port
        if request.path == "/same":
            raise web.HTTPFound("/file")
        if request.path == "/other":  # the same server under another name: another host
            raise web.HTTPFound(f"http://localhost:{port}/file")
        return web.Response(body=b"the bytes", content_type="text/plain")

    app = web.Application()
    app.router.add_get("/{name}", handle)
    async with serving(app) as url:
        yield url, seen


async def test_a_redirect_on_the_same_host_is_followed_with_the_credential(
    host: tuple[str, list[tuple[str, str | None]]],
) -> None:
    base, seen = host
    async with guarded_client("127.0.0.1,localhost") as client:
        spool = await download(
            f"{base}/same", client=client, max_bytes=100,
            headers={"Authorization": "Bearer xoxb-1"}, same_host=True,
        )  # fmt: skip
    try:
        assert spool.file.read() == b"the bytes" and spool.content_type.startswith("text/plain")
    finally:
        spool.close()
    assert [auth for _, auth in seen] == ["Bearer xoxb-1", "Bearer xoxb-1"]


async def test_a_redirect_to_another_host_is_refused_before_it_is_followed(
    host: tuple[str, list[tuple[str, str | None]]],
) -> None:
    base, seen = host
    async with guarded_client("127.0.0.1,localhost") as client:
        with pytest.raises(DownloadRefused, match="another host"):
            await download(
                f"{base}/other", client=client, max_bytes=100,
                headers={"Authorization": "Bearer xoxb-1"}, same_host=True,
            )  # fmt: skip
    assert len(seen) == 1  # nothing went to localhost: the token stayed on its host
