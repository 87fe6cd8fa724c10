"""A user's file that drips in must not hold the turn: the client's timeouts bound each read,
not a download, and the files are fetched while the conversation's lock is held, before the
thread shows anything. Past the files' deadline the file is named as not passed on.

The file host is a local aiohttp server over loopback (real HTTP); the time is looptime's fake
clock, so the drip's pauses and the deadline cost no wall-clock time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core import texts
from core.context.files import FILES_TIMEOUT, FileLimits, fetch_files
from core.context.source import Earlier, FileRequest
from core.netguard import guarded_client
from core.turn import Attachment, ThreadRef, Turn
from tests.web import serving

DRIP_EVERY = 20.0  # under the client's 30 s read timeout: every read completes in time


@pytest.fixture
async def file_host() -> AsyncIterator[str]:
    """``/notes.txt`` answers at once; ``/drip.txt`` sends a few bytes every 20 s, for ever."""

    async def notes(request: web.Request) -> web.Response:
        return web.Response(body=b"the notes", content_type="text/plain")

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": str(1 << 20)})
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # until the client goes away
            while True:
                await response.write(b"x" * 16)
                await asyncio.sleep(DRIP_EVERY)
        return response

    app = web.Application()
    app.router.add_get("/notes.txt", notes)
    app.router.add_get("/drip.txt", drip)
    async with serving(app, shutdown_timeout=0.1) as url:
        yield url


class _Host:
    """The platform's side: every attachment is fetched from its own URL, no credential."""

    async def earlier(self, turn: Turn, *, after: str | None, limit: int) -> Earlier:
        return Earlier()

    def file_request(self, turn: Turn, attachment: Attachment) -> FileRequest:
        return FileRequest(attachment.url)


@pytest.mark.looptime
async def test_a_dripping_file_is_cut_at_the_deadline_and_named(file_host: str) -> None:
    turn = Turn(
        where=ThreadRef("slack", "T1", "C1", "1.0"), user="U1", message_id="1.0", text="see",
        attachments=(
            Attachment("notes.txt", f"{file_host}/notes.txt", "text/plain"),
            Attachment("drip.txt", f"{file_host}/drip.txt", "text/plain"),
        ),
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with guarded_client("127.0.0.1") as http:
        # The test's own bound, far past the deadline: without one the fetch never ends.
        async with asyncio.timeout(FILES_TIMEOUT * 10):
            files, skipped = await fetch_files(
                turn, _Host(), http,
                limits=FileLimits(max_files=5, max_bytes=20 << 20),
                accepts=frozenset({"text"}),
            )  # fmt: skip
    assert [(f.name, f.data) for f in files] == [("notes.txt", b"the notes")]
    assert [(s.name, s.reason) for s in skipped] == [("drip.txt", texts.DOWNLOAD_TIMED_OUT)]
    assert loop.time() - started <= FILES_TIMEOUT + 1
