"""Files and structured posts retried after their answer was lost. Slack has no
idempotency key: before a retry whose earlier try may have landed the surface looks in
the thread for it (``adapters.slack.unsure_uploads`` for files: a bot message carrying one
of the files that try completed; ``adapters.slack.unsure_posts`` for a structured post) and
sends nothing again when it is there. The relay over the real SlackSurface and slack-sdk,
against the simulator.
"""

from __future__ import annotations

import pytest

from adapters.slack.surface import SlackSurface
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import AnswerLost, CallRecord
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay
from core.relay.scheduler import EditScheduler
from tests.adapters.artifact_files import FILES, QUICK, Report
from tests.adapters.slack.conftest import thread_of
from tests.relay.helpers import scripted


@pytest.fixture
def me(sim: SlackSimulator, surface: SlackSurface) -> SlackSurface:
    """The surface, knowing which messages are its own (as the bot tells it)."""
    ws = sim.workspace
    surface.me = (ws.bot_user_id, ws.bot_id)
    return surface


async def _lose(_: CallRecord) -> None:
    raise AnswerLost


async def _deliver_files(sim: SlackSimulator, surface: SlackSurface, server: str) -> list[str]:
    """The files' names as the thread shows them, message by message."""
    where = thread_of(sim)
    artifacts = [Artifact(name=n, url=f"{server}/{n}") for n in FILES]
    async with guarded_client("127.0.0.1", timeout=10.0) as client:
        relay = Relay(surface, EditScheduler(), http_client=client, policy=QUICK)
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=artifacts))
    assert outcome.artifacts_uploaded == list(FILES)  # delivered, whatever happened
    assert where.thread is not None
    carrying = [m for m in sim.bot_replies(where.channel, where.thread) if m.files]
    return [",".join(f.filename for f in m.files) for m in carrying]


async def test_files_whose_completion_answer_was_lost_are_attached_once(
    sim: SlackSimulator, me: SlackSurface, file_server: str
) -> None:
    sim.after_call("files.completeUploadExternal", _lose)
    shown = await _deliver_files(sim, me, file_server)
    assert shown == ["report.csv,notes.txt"]  # once, not twice
    assert len(sim.calls("files.completeUploadExternal")) == 1  # not completed again
    assert sim.calls("conversations.replies")  # it was looked for, and found


async def test_files_are_attached_again_when_the_lookup_fails(
    sim: SlackSimulator, me: SlackSurface, file_server: str
) -> None:
    """The lookup meets a 429 (Tier 3): the files are uploaded again, a duplicate rather
    than a loss."""
    sim.after_call("files.completeUploadExternal", _lose)
    sim.fail_next("conversations.replies", "ratelimited", status=429, retry_after=60)
    shown = await _deliver_files(sim, me, file_server)
    assert shown == ["report.csv,notes.txt"] * 2


async def test_a_structured_post_whose_answer_was_lost_is_posted_once(
    sim: SlackSimulator, me: SlackSurface
) -> None:
    where = thread_of(sim)
    sim.after_call("chat.postMessage", _lose, match=lambda p: "Weekly" in str(p.get("text")))
    data = Report(title="Weekly", summary="all good")
    relay = Relay(me, EditScheduler(), policy=QUICK)
    await relay.deliver(where, scripted([(0.0, "Here.")], structured=data))

    assert where.thread is not None
    posted = [m for m in sim.bot_replies(where.channel, where.thread) if "Weekly" in m.text]
    assert len(posted) == 1  # once, not twice
    assert len([c for c in sim.calls("chat.postMessage") if "Weekly" in str(c.params)]) == 1


async def test_files_whose_completion_failed_unapplied_are_uploaded_again_once(
    sim: SlackSimulator, me: SlackSurface, file_server: str
) -> None:
    """A 500 on the completion (not applied, but the bot cannot know): the lookup finds no
    message with those files, so they are uploaded afresh, and shown once."""
    sim.fail_next("files.completeUploadExternal", "internal_error", status=500)
    shown = await _deliver_files(sim, me, file_server)
    assert shown == ["report.csv,notes.txt"]
    assert sim.calls("conversations.replies")  # looked for first
    assert [c.ok for c in sim.calls("files.completeUploadExternal")] == [False, True]
