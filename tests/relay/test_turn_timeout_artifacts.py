"""The turn timeout bounds the artifacts too (issue 18.5): a slowly dripping file cannot hold
the conversation for the artifact client's own 120 s per file.

The files come from a local aiohttp server over loopback (real HTTP); the time is looptime's
fake clock, so "the turn ended at 30 s" is read from the loop, not from a wall clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay
from core.surface import SurfaceLimits
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface
from tests.web import serving

LIMITS = SurfaceLimits(
    max_message_chars=2000, min_edit_interval=0.0, max_file_bytes=1 << 20,
    max_files_per_message=10,
)  # fmt: skip
TURN_TIMEOUT = 30.0


@pytest.fixture
async def dripping_server() -> AsyncIterator[str]:
    """``/quick.csv`` answers at once; ``/drip.bin`` sends its first bytes, then nothing."""
    never = asyncio.Event()

    async def quick(request: web.Request) -> web.Response:
        return web.Response(body=b"a,b\n1,2\n")

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Length": "4096"})
        await response.prepare(request)
        await response.write(b"x" * 16)
        await never.wait()  # the rest never comes (a stalled artifact store)
        return response

    app = web.Application()
    app.router.add_get("/quick.csv", quick)
    app.router.add_get("/drip.bin", drip)
    async with serving(app, shutdown_timeout=0.1) as url:
        try:
            yield url
        finally:
            never.set()


@pytest.mark.looptime
async def test_the_turn_timeout_cuts_a_dripping_artifact_and_names_what_was_not_fetched(
    dripping_server: str,
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    artifacts = [
        Artifact(name="quick.csv", url=f"{dripping_server}/quick.csv", format_type="csv"),
        Artifact(name="drip.bin", url=f"{dripping_server}/drip.bin", format_type="bin"),
        Artifact(name="after.csv", url=f"{dripping_server}/quick.csv", format_type="csv"),
    ]
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with guarded_client("127.0.0.1", timeout=600.0) as client:
        relay = Relay(
            surface, SpyScheduler(), artifact_max_bytes=1 << 20, http_client=client,
            turn_timeout=TURN_TIMEOUT,
        )  # fmt: skip
        outcome = await relay.deliver(
            THREAD, scripted([(0.0, "Here are your files.")], artifacts=artifacts)
        )
    took = loop.time() - started

    # The turn ended when its time ran out, not after the client's 120 s for the stalled file.
    assert TURN_TIMEOUT <= took < TURN_TIMEOUT + 1
    assert outcome.status == "completed"
    assert outcome.artifacts_uploaded == ["quick.csv"]
    failed = {f.name: f.reason for f in outcome.artifacts_failed}
    assert set(failed) == {"drip.bin", "after.csv"}
    assert "timed out" in failed["drip.bin"]
    assert "turn timeout" in failed["after.csv"]
    # The thread has the text, the file that came, and a notice naming both missing files.
    assert [[f.name for f in call.files] for call in surface.calls_of("upload")] == [["quick.csv"]]
    notice = surface.texts()[-1]
    assert "drip.bin" in notice and "after.csv" in notice
