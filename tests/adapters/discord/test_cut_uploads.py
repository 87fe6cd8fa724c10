"""An upload the surface splits into two messages (10 MiB a message), cut off by the
relay's call timeout while Discord holds the second message's answer: the files of the
first message, which Discord answered, are known to be in the thread. They are neither
named as failed in the notice nor sent again by a retry. The relay over the real
DiscordSurface and discord.py, against the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from adapters.discord import DiscordSurface, place
from bots.simulators.discord import Call, DiscordSimulator
from core.models import Artifact
from core.netguard import guarded_client
from core.relay import Relay, RetryPolicy
from core.relay.outcome import ReplyOutcome
from core.relay.scheduler import EditScheduler
from core.turn import ThreadRef
from tests.adapters.artifact_files import served_sizes
from tests.relay.helpers import scripted

MIB = 1024 * 1024
MESSAGES = "/channels/{channel_id}/messages"
# Grouped by discord.py's upload limit for an unboosted guild (10 MiB for all the files
# of a message: adapters/discord/uploads.py): [a, b] in the first message, [c] in the next.
SIZES = {"a.bin": 6 * MIB, "b.bin": 3 * MIB, "c.bin": 2 * MIB}
# Far above what a loopback upload of 9 MiB takes, so only the held answer times out.
CALL_TIMEOUT = 3.0


@pytest.fixture
async def big_files() -> AsyncIterator[str]:
    async with served_sizes(SIZES) as url:
        yield url


def _carrying(sim: DiscordSimulator, name: str) -> list[Call]:
    """The message creates whose request carried the file ``name``."""
    return [c for c in sim.calls_to("POST", MESSAGES) if any(f == name for f, _ in c.files)]


async def _deliver_with_c_held(
    sim: DiscordSimulator,
    surface: DiscordSurface,
    scheduler: EditScheduler,
    big_files: str,
    policy: RetryPolicy,
) -> tuple[ThreadRef, ReplyOutcome]:
    """Delivers the three files while Discord holds its answer to the message carrying
    c.bin (created, not answered) until the relay is done."""
    where = place("channel", sim.channel("general").id, sim.guild_id)
    release = asyncio.Event()
    held: list[Call] = []

    async def hold(call: Call) -> None:
        held.append(call)
        await release.wait()

    sim.after_call(
        "POST", MESSAGES, hold, match=lambda call: ("c.bin", SIZES["c.bin"]) in call.files
    )
    artifacts = [Artifact(name=n, url=f"{big_files}/{n}") for n in SIZES]
    try:
        async with guarded_client("127.0.0.1", timeout=30.0) as client:
            relay = Relay(surface, scheduler, http_client=client, policy=policy)
            outcome = await relay.deliver(where, scripted([(0.0, "Here.")], artifacts=artifacts))
    finally:
        release.set()
    assert held  # the second message was cut off by the timeout
    return where, outcome


async def test_files_that_landed_before_a_timeout_are_not_reported_failed(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler, big_files: str
) -> None:
    """No retry after the timeout (``retry_for=0``): c.bin, whose message's answer never
    came, is named in the notice (the bot cannot know it landed); a.bin and b.bin are not."""
    policy = RetryPolicy(call_timeout=CALL_TIMEOUT, retry_for=0.0, backoff=0.01)
    where, outcome = await _deliver_with_c_held(sim, surface, scheduler, big_files, policy)

    assert sorted(outcome.artifacts_uploaded) == ["a.bin", "b.bin"]
    assert [f.name for f in outcome.artifacts_failed] == ["c.bin"]
    messages = sim.channel_messages(int(where.channel))
    notices = [m.content for m in messages if not m.attachments and "c.bin" in m.content]
    assert len(notices) == 1
    assert "a.bin" not in notices[0] and "b.bin" not in notices[0]
    assert len(_carrying(sim, "a.bin")) == 1  # sent once


async def test_a_retry_after_a_timeout_sends_only_the_files_not_known_to_have_landed(
    sim: DiscordSimulator, surface: DiscordSurface, scheduler: EditScheduler, big_files: str
) -> None:
    """The retry sends only c.bin's message (Discord returns the one it held, by its
    nonce): the message of a.bin and b.bin is not sent again."""
    policy = RetryPolicy(call_timeout=CALL_TIMEOUT, backoff=0.01)
    where, outcome = await _deliver_with_c_held(sim, surface, scheduler, big_files, policy)

    assert sorted(outcome.artifacts_uploaded) == ["a.bin", "b.bin", "c.bin"]
    assert not outcome.artifacts_failed
    assert len(_carrying(sim, "a.bin")) == 1  # not sent again
    assert len(_carrying(sim, "c.bin")) == 2  # held, then retried
    messages = sim.channel_messages(int(where.channel))
    assert [[a.filename for a in m.attachments] for m in messages if m.attachments] == [
        ["a.bin", "b.bin"],
        ["c.bin"],
    ]
