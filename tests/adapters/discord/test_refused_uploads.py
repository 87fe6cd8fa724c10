"""An upload the surface splits into several messages, whose later message Discord refuses
after the first one landed: the files of the landed message are not posted again when the
others are sent one by one (so that only the refused file fails). A file Discord refuses
as too large is not sent again: retrying cannot help. The relay over the real
DiscordSurface and discord.py, against the simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordSurface, place, texts
from bots.simulators.discord import DiscordSimulator
from core import texts as core_texts
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay, RetryPolicy
from core.relay.scheduler import EditScheduler
from tests.adapters.artifact_files import served_sizes
from tests.relay.helpers import scripted

MIB = 1024 * 1024
# The bot groups files by discord.py's idea of the guild's upload limit (``Guild.
# filesize_limit``: 10 MiB unboosted). Discord's own limit here is 9 MiB, as when a guild
# lost a boost the client has not heard of: Discord then refuses a message whose files
# together pass it with 413 / 40005 "Request entity too large" (the simulator's
# ``bodies.py``; discord-api-docs, Reference > Uploading Files: the limit counts "*all*
# files in a request"; Topics > Opcodes and Status Codes: 40005 "Request entity too large").
DISCORD_LIMIT = 9 * MIB
# In the order sent: [a, b] (9 MiB) in one message, landed; [c, d] (9.75 MiB) in the next,
# refused; then c alone (9.5 MiB) refused again, and d alone taken.
# An upload that fails is tried twice; one Discord refuses as too large, once.
TWICE = RetryPolicy(backoff=0.01, attempts=2)
MESSAGES = "/channels/{channel_id}/messages"
SIZES = {"a.bin": 5 * MIB, "b.bin": 4 * MIB, "c.bin": 9 * MIB + MIB // 2, "d.bin": MIB // 4}


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator(max_file_size=DISCORD_LIMIT) as simulator:
        yield simulator


@pytest.fixture
async def big_files() -> AsyncIterator[str]:
    async with served_sizes(SIZES) as url:
        yield url


async def test_files_of_a_landed_message_are_not_posted_again(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler, big_files: str
) -> None:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    artifacts = [Artifact(name=n, url=f"{big_files}/{n}") for n in SIZES]
    async with guarded_client("127.0.0.1", timeout=30.0) as client:
        relay = Relay(surface, scheduler, http_client=client, policy=TWICE)
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=artifacts))

    messages = sim.channel_messages(int(where.channel))
    posted = [a.filename for m in messages for a in m.attachments]
    assert sorted(posted) == ["a.bin", "b.bin", "d.bin"]  # each once; c refused
    assert [[a.filename for a in m.attachments] for m in messages if m.attachments] == [
        ["a.bin", "b.bin"],
        ["d.bin"],
    ]
    assert sorted(outcome.artifacts_uploaded) == ["a.bin", "b.bin", "d.bin"]
    assert [f.name for f in outcome.artifacts_failed] == ["c.bin"]
    notices = [m.content for m in messages if "c.bin" in m.content]
    assert len(notices) == 1
    assert not any(name in notices[0] for name in ("a.bin", "b.bin", "d.bin"))


async def test_a_file_discord_refuses_as_too_large_is_tried_once_and_named(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler, big_files: str
) -> None:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    artifact = Artifact(name="c.bin", url=f"{big_files}/c.bin")  # past DISCORD_LIMIT
    async with guarded_client("127.0.0.1", timeout=30.0) as client:
        relay = Relay(surface, scheduler, http_client=client, policy=RetryPolicy(backoff=0.01))
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=[artifact]))

    refused = [c for c in sim.calls_to("POST", MESSAGES) if c.status == 413]
    assert len(refused) == 1  # tried once: the policy would have allowed four tries
    assert [f.name for f in outcome.artifacts_failed] == ["c.bin"]
    messages = sim.channel_messages(int(where.channel))
    assert not [m for m in messages if m.attachments]
    notices = [m.content for m in messages if "c.bin" in m.content]
    # In words, not Discord's status line ("413 Payload Too Large (error code: 40005)").
    assert len(notices) == 1
    assert [f.reason for f in outcome.artifacts_failed] == [texts.FILE_TOO_LARGE]
    assert notices[0].startswith(f"⚠️ Could not attach **c.bin**: {texts.FILE_TOO_LARGE}.")
    words = notices[0].split(" Link: ")[0]  # (the link's port may hold "413": 127.0.0.1:41311)
    assert "413" not in words and "40005" not in words


async def _notice_after_failed_upload(
    sim: DiscordSimulator, surface: DiscordSurface, big_files: str
) -> str:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    artifact = Artifact(name="d.bin", url=f"{big_files}/d.bin")
    # One try per outage (retry_for 0) and per refusal.
    policy = RetryPolicy(backoff=0.01, attempts=1, retry_for=0.0)
    async with guarded_client("127.0.0.1", timeout=30.0) as client:
        relay = Relay(surface, EditScheduler(), http_client=client, policy=policy)
        outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=[artifact]))
    assert [f.name for f in outcome.artifacts_failed] == ["d.bin"]
    messages = sim.channel_messages(int(where.channel))
    (notice,) = [m.content for m in messages if "d.bin" in m.content]
    # Never Discord's status line or error code: those are for the log.
    for raw in ("503", "403", "50013", "Discord answered", "missing Discord permission"):
        assert raw not in notice.split(" Link: ")[0]
    return notice


async def test_an_upload_without_attach_files_says_which_permission(
    sim: DiscordSimulator, surface: DiscordSurface, big_files: str
) -> None:
    # Files need ATTACH_FILES: refused 403 / 50013 (the simulator's ``restrictions``).
    sim.deny(sim.channel("general").id, "ATTACH_FILES")
    notice = await _notice_after_failed_upload(sim, surface, big_files)
    assert texts.MISSING_FILE_PERMISSION.format(permission="Attach Files") in notice


async def test_an_upload_discord_fails_with_a_5xx_is_named_in_words(
    sim: DiscordSimulator, surface: DiscordSurface, big_files: str
) -> None:
    # Once the reply's text is posted, one 503 (not among the statuses discord.py retries
    # itself: discord/http.py) for the upload; then Discord answers again: the notice gets
    # through.
    async def fail_the_next_post(_call: object) -> None:
        sim.inject_failure("POST", MESSAGES, status=503, message="Service Unavailable")

    sim.after_call("POST", MESSAGES, fail_the_next_post)
    notice = await _notice_after_failed_upload(sim, surface, big_files)
    assert core_texts.UPLOAD_UNAVAILABLE.format(platform="Discord") in notice
