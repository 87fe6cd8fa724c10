"""After the text: structured data and artifacts handed to the surface.

Artifacts are served by a local aiohttp server over loopback (real HTTP, real time);
loopback is internal, so the tests allow-list it explicitly, as a local agent would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web
from pydantic import BaseModel

from core import texts
from core.errors import SurfaceError
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay, RetryPolicy
from core.surface import SurfaceLimits
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface
from tests.web import serving

# Real time here (real sockets): no pause between edits, and quick retries.
LIMITS = SurfaceLimits(max_message_chars=2000, min_edit_interval=0.0, max_file_bytes=1 << 20)
QUICK = RetryPolicy(backoff=0.01)

FILES = {
    "report.csv": b"a,b\n1,2\n",
    "chart.png": b"\x89PNG" + b"\0" * 2000,
    "notes.txt": b"hello",
    "huge.bin": b"x" * 50_000,
}


@pytest.fixture
async def local_files() -> AsyncIterator[httpx.AsyncClient]:
    """The artifact client, allowing the file server below (it runs on loopback)."""
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        yield client


@pytest.fixture
async def file_server() -> AsyncIterator[str]:
    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in FILES:
            raise web.HTTPNotFound()
        return web.Response(body=FILES[name])

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    async with serving(app) as url:
        yield f"{url}/files"


class Forecast(BaseModel):
    city: str
    high_c: float
    conditions: list[str]


@pytest.mark.looptime
async def test_structured_data_goes_to_the_surface_with_a_readable_fallback() -> None:
    surface = RecordingSurface()
    data = Forecast(city="Lisbon", high_c=24.5, conditions=["sunny", "breezy"])
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, '{"city": "Lisbon"}')], structured=data)
    )
    (call,) = surface.calls_of("structured")
    assert call.data is data and outcome.structured_data is data
    assert call.text is not None
    for expected in ("City", "Lisbon", "High c", "24.5", '["sunny", "breezy"]'):
        assert expected in call.text
    assert outcome.delivered


async def test_artifacts_uploaded_in_groups_and_failures_named(file_server: str) -> None:
    limits = SurfaceLimits(
        max_message_chars=2000, min_edit_interval=0.0, max_file_bytes=10_000,
        max_files_per_message=2,
    )  # fmt: skip
    surface = RecordingSurface(limits=limits)
    artifacts = [
        Artifact(name=name, url=f"{file_server}/{name}", format_type=name.split(".")[1])
        for name in ("report.csv", "chart.png", "missing.pdf", "notes.txt", "huge.bin")
    ]
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        relay = Relay(surface, SpyScheduler(), artifact_max_bytes=1_000_000, http_client=client)
        outcome = await relay.deliver(
            THREAD, scripted([(0.0, "Here are your files.")], artifacts=artifacts)
        )

    uploads = surface.calls_of("upload")
    assert [[f.name for f in call.files] for call in uploads] == [
        ["report.csv", "chart.png"],
        ["notes.txt"],
    ]
    assert uploads[0].files[1].rewound().read() == FILES["chart.png"]
    assert outcome.artifacts_uploaded == ["report.csv", "chart.png", "notes.txt"]
    assert {f.name for f in outcome.artifacts_failed} == {"missing.pdf", "huge.bin"}
    # One notice in the thread names each failed file, why, and its link; no crash.
    texts = surface.texts()
    assert texts[0] == "Here are your files."
    notice = texts[-1]
    assert "**missing.pdf**: the file's server answered 404 (not found)." in notice
    assert f"{file_server}/missing.pdf" in notice
    assert "**huge.bin**: the file is larger than the 9.8 KB the bot can attach here." in notice
    assert outcome.status == "completed" and outcome.delivered


async def test_artifact_cap_is_the_smaller_of_config_and_platform(
    file_server: str, local_files: httpx.AsyncClient
) -> None:
    surface = RecordingSurface(limits=LIMITS)  # the platform takes 1 MiB files
    artifact = Artifact(name="chart.png", url=f"{file_server}/chart.png")
    relay = Relay(surface, SpyScheduler(), artifact_max_bytes=1000, http_client=local_files)
    outcome = await relay.deliver(THREAD, scripted([(0.0, "A chart.")], artifacts=[artifact]))
    assert outcome.artifacts_uploaded == []
    assert [f.name for f in outcome.artifacts_failed] == ["chart.png"]
    assert outcome.artifacts_failed[0].reason == texts.artifact_too_large(1000)


async def test_failed_upload_becomes_a_notice(
    file_server: str, local_files: httpx.AsyncClient
) -> None:
    surface = RecordingSurface(limits=LIMITS)
    surface.fail("upload", SurfaceError("files.upload: weird_code"), times=None)
    artifact = Artifact(name="notes.txt", url=f"{file_server}/notes.txt")
    outcome = await Relay(surface, SpyScheduler(), policy=QUICK, http_client=local_files).deliver(
        THREAD, scripted([(0.0, "Notes attached.")], artifacts=[artifact])
    )
    assert [f.name for f in outcome.artifacts_failed] == ["notes.txt"]
    # In words (the platform's method and code are for the log), and the adapter's own
    # words when it has them.
    assert "Test did not take the upload." in surface.texts()[-1]
    assert "weird_code" not in surface.texts()[-1]
    surface = RecordingSurface(limits=LIMITS)
    said = SurfaceError("files.upload: weird_code", reason="the platform said no")
    surface.fail("upload", said, times=None)
    await Relay(surface, SpyScheduler(), policy=QUICK, http_client=local_files).deliver(
        THREAD, scripted([(0.0, "Again.")], artifacts=[artifact])
    )
    assert "notes.txt**: the platform said no." in surface.texts()[-1]


@pytest.mark.looptime
async def test_empty_reply_says_so() -> None:
    surface = RecordingSurface()
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, scripted([(0.0, "")]))
    assert outcome.status == "completed" and outcome.text == ""
    assert surface.texts() == ["_The agent sent an empty reply._"]
