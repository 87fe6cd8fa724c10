"""The relay's side of the agent's files and progress (issues 10 and 18): a tool status
reaches the thread status, a file refused by the address guard or listed without a link is
named in the notice, and downloads are spooled to disk rather than held in memory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core import texts
from core.models import STATUS_KEY, AgentStream, Artifact
from core.netguard import guarded_client
from core.relay import Relay
from core.surface import SurfaceLimits
from tests.relay.helpers import SpyScheduler
from tests.surfaces import THREAD, RecordingSurface
from tests.web import serving

LIMITS = SurfaceLimits(max_message_chars=2000, min_edit_interval=0.0, max_file_bytes=1 << 24)
BIG = b"0123456789abcdef" * 200_000  # 3.2 MB: larger than the in-memory spool


@pytest.fixture
async def files() -> AsyncIterator[str]:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=BIG if request.match_info["name"] == "big.bin" else b"ok")

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    async with serving(app) as url:
        yield url.removeprefix("http://")


async def stream(*chunks: AgentStream) -> AsyncIterator[AgentStream]:
    for chunk in chunks:
        yield chunk


async def test_a_tool_status_is_shown_as_the_thread_status() -> None:
    surface = RecordingSurface(limits=LIMITS)
    chunks = stream(
        AgentStream(content="", metadata={STATUS_KEY: "Using web_search…"}),
        AgentStream(content="Sunny."),
        AgentStream(done=True),
    )
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, chunks)
    assert "Using web_search…" in surface.statuses
    assert surface.statuses[-1] is None  # cleared at the end
    assert outcome.text == "Sunny." and "web_search" not in "".join(surface.texts())


async def test_refused_and_linkless_files_are_named_in_the_notice(files: str) -> None:
    surface = RecordingSurface(limits=LIMITS)
    artifacts = [
        Artifact(name="ok.txt", url=f"http://{files}/files/ok.txt"),
        Artifact(name="metadata.json", url="http://169.254.169.254/latest/meta-data/"),
        Artifact(name="lost.pdf", url=""),
    ]
    chunks = stream(AgentStream(content="Files:"), AgentStream(done=True, artifact_files=artifacts))
    async with guarded_client(allow_hosts=frozenset({"127.0.0.1"})) as client:
        relay = Relay(surface, SpyScheduler(), artifact_max_bytes=1 << 24, http_client=client)
        outcome = await relay.deliver(THREAD, chunks)
    assert outcome.artifacts_uploaded == ["ok.txt"]
    failed = {f.name: f.reason for f in outcome.artifacts_failed}
    # Said in words, without the address or the link that names it (it was posted once).
    assert failed["metadata.json"] == texts.ARTIFACT_ADDRESS_REFUSED
    assert failed["lost.pdf"] == texts.ARTIFACT_NO_LINK
    notice = surface.texts()[-1]
    assert "metadata.json" in notice and "lost.pdf" in notice
    assert "169.254.169.254" not in notice


async def test_a_large_download_is_spooled_and_uploaded_whole(files: str) -> None:
    surface = RecordingSurface(limits=LIMITS)
    artifact = Artifact(name="big.bin", url=f"http://{files}/files/big.bin")
    chunks = stream(AgentStream(content="Big."), AgentStream(done=True, artifact_files=[artifact]))
    async with guarded_client(allow_hosts=frozenset({"127.0.0.1"})) as client:
        relay = Relay(surface, SpyScheduler(), artifact_max_bytes=1 << 24, http_client=client)
        await relay.deliver(THREAD, chunks)
        async with artifact.spooled(client=client) as spool:
            assert spool.rolled_to_disk  # bigger than the in-memory part: on disk
            assert spool.file.read() == BIG
    (upload,) = surface.calls_of("upload")
    assert upload.files is not None and upload.files[0].rewound().read() == BIG
