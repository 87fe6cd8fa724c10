"""Why an agent's file could not be downloaded, as the user reads it in the thread: in
words chosen by the kind of failure (not reached, timed out, an HTTP error, too large, an
address the bot may not fetch, a damaged body), never the exception's text, its class or
an internal address (those go to the log).

The files come from a local aiohttp server over loopback, reached by the name
``localhost`` (allow-listed), so an address in the notice can only have come from an
error's text.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from core import texts
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay
from core.surface import SurfaceLimits
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface
from tests.web import serving

LIMITS = SurfaceLimits(max_message_chars=4000, min_edit_interval=0.0, max_file_bytes=1 << 20)
# What an error's own text shows, and a chat user must not read.
LEAKS = (
    "127.0.0.1",
    "::1",
    "169.254",
    "Error",
    "Timeout(",
    "HTTPStatus",
    "refused:",
    "bytes >",
    "HTTP 4",
    "HTTP 5",
)


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """``/big.bin`` 1.5 MiB, ``/broken.gz`` a gzip body that is not gzip, ``/stall`` headers
    and then nothing, ``/error/{status}`` that status; the base URL names ``localhost``."""
    never = asyncio.Event()

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (3 << 19))

    async def broken(request: web.Request) -> web.Response:
        return web.Response(body=b"this is not gzip", headers={"Content-Encoding": "gzip"})

    async def stall(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "4096"})
        await response.prepare(request)
        await never.wait()  # the body never comes
        return response

    async def error(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["status"]), text="no")

    app = web.Application()
    app.router.add_get("/big.bin", big)
    app.router.add_get("/broken.gz", broken)
    app.router.add_get("/stall", stall)
    app.router.add_get("/error/{status}", error)
    async with serving(app, shutdown_timeout=0.1) as url:
        try:
            yield url.replace("127.0.0.1", "localhost")
        finally:
            never.set()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port held by a socket that does not listen: connecting is refused."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]


async def notice_for(artifact: Artifact, *, allow: str = "localhost") -> str:
    """The notice posted in the thread when ``artifact`` is the reply's only file."""
    surface = RecordingSurface(limits=LIMITS)
    async with guarded_client(allow, timeout=5.0) as client:
        relay = Relay(surface, SpyScheduler(), artifact_max_bytes=1 << 24, http_client=client)
        outcome = await relay.deliver(THREAD, scripted([(0.0, "Here.")], artifacts=[artifact]))
    assert [f.name for f in outcome.artifacts_failed] == [artifact.name]
    assert surface.calls_of("upload") == []
    notice = surface.texts()[-1]
    for leak in LEAKS:
        assert leak not in notice
    return notice


def says(name: str, reason: str, url: str = "") -> str:
    return texts.ARTIFACT_FAILED.format(name=name, reason=reason) + (
        texts.ARTIFACT_LINK.format(url=url) if url else ""
    )


async def test_a_link_whose_server_cannot_be_reached(closed_port: int) -> None:
    url = f"http://localhost:{closed_port}/report.pdf"
    notice = await notice_for(Artifact(name="report.pdf", url=url))
    assert notice == says("report.pdf", "the file's server could not be reached", url)


@pytest.mark.looptime
async def test_a_server_that_does_not_send_the_file_in_time(files: str) -> None:
    notice = await notice_for(Artifact(name="slow.csv", url=f"{files}/stall"))
    assert notice == says("slow.csv", "download timed out", f"{files}/stall")


@pytest.mark.parametrize(
    ("status", "words"),
    [(404, "404 (not found)"), (403, "403 (forbidden)"), (503, "503 (service unavailable)")],
)
async def test_an_http_error_is_its_status_in_words(files: str, status: int, words: str) -> None:
    url = f"{files}/error/{status}"
    notice = await notice_for(Artifact(name="gone.pdf", url=url))
    assert notice == says("gone.pdf", f"the file's server answered {words}", url)


async def test_a_file_too_large_names_the_limit_in_mb(files: str) -> None:
    notice = await notice_for(Artifact(name="big.bin", url=f"{files}/big.bin"))
    reason = "the file is larger than the 1 MB the bot can attach here"
    assert notice == says("big.bin", reason, f"{files}/big.bin")


async def test_a_data_url_too_large_names_the_limit_too() -> None:
    """A ``data:`` URL is the file itself, not a link: the notice does not quote it (a
    megabyte of it filled the notice to its length)."""
    artifact = Artifact(name="inline.txt", url="data:text/plain," + "x" * ((1 << 20) + 1))
    notice = await notice_for(artifact)
    reason = "the file is larger than the 1 MB the bot can attach here"
    assert notice == says("inline.txt", reason)


async def test_a_data_url_that_does_not_decode_is_said_without_it() -> None:
    notice = await notice_for(Artifact(name="bad.txt", url="data:text/plain;base64,@@@@"))
    assert notice == says("bad.txt", texts.ARTIFACT_BAD_DATA)


async def test_a_body_that_does_not_decode_is_called_damaged(files: str) -> None:
    notice = await notice_for(Artifact(name="log.txt", url=f"{files}/broken.gz"))
    reason = "the file's server sent it damaged (its compression could not be undone)"
    assert notice == says("log.txt", reason, f"{files}/broken.gz")


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata
        "http://localhost:{port}/secret",  # a name resolving to loopback
    ],
)
async def test_an_internal_address_is_refused_without_showing_it(
    url: str, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the address, nor the host, nor the link: whoever steers the agent must not
    learn the network's addresses from the thread. The log has them, once."""
    url = url.format(port=closed_port)
    caplog.set_level(logging.WARNING, logger="core.relay.attachments")
    notice = await notice_for(Artifact(name="metadata.json", url=url), allow="")
    assert notice == says("metadata.json", texts.ARTIFACT_ADDRESS_REFUSED)
    assert "localhost" not in notice and "http" not in notice
    (logged,) = [r.getMessage() for r in caplog.records if "metadata.json" in r.getMessage()]
    assert "refused" in logged and ("169.254.169.254" in logged or "127.0.0.1" in logged)
