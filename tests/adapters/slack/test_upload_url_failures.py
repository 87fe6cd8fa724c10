"""What the upload URL (step 2 of an upload: the bytes POSTed to ``upload_url``) answers
besides 200, as the relay meets it over the real SlackSurface and slack-sdk, against the
simulator: a 5xx or a 408 is Slack unavailable (retried as an outage), a 413 a refused file (tried
once, named at once), any other status a refusal (a few tries). No Slack JSON comes back
there, only a status and a short body (see ``adapters.slack.uploads``)."""

from __future__ import annotations

import pytest

from adapters.slack import texts
from adapters.slack.surface import SlackSurface
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import AnswerLost, CallRecord
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay, ReplyOutcome
from core.relay.scheduler import EditScheduler
from tests.adapters.artifact_files import QUICK
from tests.adapters.slack.conftest import thread_of
from tests.relay.helpers import scripted

# More failures in a row than QUICK's tries of a refused call: only an outage outlives them.
MANY = QUICK.attempts + 1


async def _deliver(sim: SlackSimulator, surface: SlackSurface, server: str) -> ReplyOutcome:
    where = thread_of(sim)
    artifact = Artifact(name="report.csv", url=f"{server}/report.csv")
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        relay = Relay(surface, EditScheduler(), http_client=client, policy=QUICK)
        return await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=[artifact]))


def _attached(sim: SlackSimulator) -> list[str]:
    return [f.filename for m in sim.store.all_messages() for f in m.files]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (504, "upstream request timeout"),  # slackapi/python-slack-sdk#1853
        (408, "stream timeout"),  # Slack's edge timing the upload out: slack-go/slack#1108
    ],
)
async def test_a_5xx_or_408_from_the_upload_url_is_retried_as_an_outage(
    sim: SlackSimulator, surface: SlackSurface, file_server: str, status: int, body: str
) -> None:
    sim.fail_next("upload", body, status=status, times=MANY)
    outcome = await _deliver(sim, surface, file_server)
    assert outcome.artifacts_uploaded == ["report.csv"] and not outcome.artifacts_failed
    assert len(sim.calls("upload")) == MANY + 1
    assert _attached(sim) == ["report.csv"]


async def test_an_upload_whose_answer_is_lost_is_retried_as_an_outage(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> None:
    async def lose(_: CallRecord) -> None:
        raise AnswerLost  # the connection breaks before the upload URL answers

    for _ in range(MANY):
        sim.after_call("upload", lose)
    outcome = await _deliver(sim, surface, file_server)
    assert outcome.artifacts_uploaded == ["report.csv"] and not outcome.artifacts_failed
    assert len(sim.calls("upload")) == MANY + 1
    assert _attached(sim) == ["report.csv"]  # the kept but uncompleted ones are not shared


async def test_a_413_from_the_upload_url_refuses_the_file_at_once(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> None:
    sim.fail_next("upload", "Request Entity Too Large", status=413, times=MANY)
    outcome = await _deliver(sim, surface, file_server)
    assert len(sim.calls("upload")) == 1  # tried once, not retried
    assert [f.reason for f in outcome.artifacts_failed] == [texts.FILE_TOO_LARGE]
    assert not _attached(sim)


async def test_another_4xx_from_the_upload_url_is_tried_a_few_times(
    sim: SlackSimulator, surface: SlackSurface, file_server: str
) -> None:
    sim.fail_next("upload", "Forbidden", status=403, times=MANY)
    outcome = await _deliver(sim, surface, file_server)
    assert len(sim.calls("upload")) == QUICK.attempts  # a refusal's tries, not an outage's
    assert [f.name for f in outcome.artifacts_failed] == ["report.csv"]
    assert not _attached(sim)
