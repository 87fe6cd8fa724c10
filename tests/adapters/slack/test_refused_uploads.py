"""A file Slack refuses for what it is (past the size a workspace admin allows) is not
sent again: retrying cannot help, so the relay names it in its notice at once. The relay
over the real SlackSurface and slack-sdk, against the simulator."""

from __future__ import annotations

import io

import pytest

from adapters.slack import texts
from adapters.slack.surface import SlackSurface
from bots.simulators.slack import SlackSimulator
from core import texts as core_texts
from core.errors import FileRefused
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay, RetryPolicy
from core.relay.scheduler import EditScheduler
from core.surface import OutgoingFile
from tests.adapters.artifact_files import FILES, QUICK
from tests.adapters.slack.conftest import thread_of
from tests.relay.helpers import scripted


async def test_a_file_past_the_workspace_limit_is_tried_once_and_named(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> None:
    # files.getUploadURLExternal answers ``file_upload_size_restricted`` past this size
    # (the simulator's ``SimConfig.team_upload_limit``); QUICK allows four tries.
    sim.config.team_upload_limit = len(FILES["report.csv"]) - 1
    where = thread_of(sim)
    artifact = Artifact(name="report.csv", url=f"{file_server}/report.csv")
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        relay = Relay(surface, EditScheduler(), http_client=client, policy=QUICK)
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=[artifact]))

    assert len(sim.calls("files.getUploadURLExternal")) == 1  # tried once, not retried
    assert [f.name for f in outcome.artifacts_failed] == ["report.csv"]
    assert where.thread is not None
    replies = sim.bot_replies(where.channel, where.thread)
    notices = [m.text for m in replies if "report.csv" in m.text]
    assert len(notices) == 1
    # The reason in words, not Slack's method and code (those are for the log).
    assert texts.FILE_REFUSED["file_upload_size_restricted"] in notices[0]
    assert "file_upload_size_restricted" not in notices[0] and "files." not in notices[0]
    assert not [m for m in replies if m.files]


async def test_a_refusal_names_the_step_that_refused(
    sim: SlackSimulator, surface: SlackSurface
) -> None:
    """files.getUploadURLExternal refused the file: its error names that method, not the
    completion (never called), so the log says what Slack refused."""
    sim.config.team_upload_limit = 1
    where = thread_of(sim)
    file = OutgoingFile("big.bin", io.BytesIO(b"xx"), 2)
    with pytest.raises(FileRefused) as refused:
        await surface.upload(where, [file])
    assert str(refused.value) == "files.getUploadURLExternal: file_upload_size_restricted"
    assert not sim.calls("files.completeUploadExternal")


async def _notice_after_failed_upload(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> str:
    where = thread_of(sim)
    artifact = Artifact(name="report.csv", url=f"{file_server}/report.csv")
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        policy = RetryPolicy(backoff=0.01, attempts=2, retry_for=0.05)
        relay = Relay(surface, EditScheduler(), http_client=client, policy=policy)
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=[artifact]))
    assert [f.name for f in outcome.artifacts_failed] == ["report.csv"]
    assert where.thread is not None
    (notice,) = [m.text for m in sim.bot_replies(where.channel, where.thread) if "report" in m.text]
    # Never the step's method, Slack's code or the status line: those are for the log.
    for raw in ("upload_url", "files.", "HTTP", "503", "missing_scope"):
        assert raw not in notice.split(" Link: ")[0]
    return notice


async def test_an_upload_slack_fails_with_a_5xx_is_named_in_words(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> None:
    # The upload URL answers 503 every time (its 5xx: slackapi/python-slack-sdk#1853).
    sim.fail_next("upload", "Service Unavailable", status=503, times=100)
    notice = await _notice_after_failed_upload(sim, surface, file_server)
    assert core_texts.UPLOAD_UNAVAILABLE.format(platform="Slack") in notice


async def test_an_upload_refused_for_a_missing_scope_says_which(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> None:
    sim.fail_next("files.getUploadURLExternal", "missing_scope", times=100)
    notice = await _notice_after_failed_upload(sim, surface, file_server)
    assert texts.UPLOAD_REFUSED["missing_scope"] in notice
