"""The requests no relay bounds (a DM, a thread's parent looked up) give up after the
surface's call timeout when Discord takes them and does not answer: the caller gets
PlatformUnavailable, or its fallback, instead of waiting out aiohttp's 300 s. The
``asyncio.timeout`` here is far below that and far above the call timeout."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import discord
import pytest

from adapters.discord import DiscordBudget, DiscordSurface, place
from bots.simulators.discord import DiscordSimulator
from core.errors import PlatformUnavailable
from core.relay.scheduler import EditScheduler
from tests.discord_stalls import stalled

CREATE_DM = "/users/@me/channels"
MESSAGES = "/channels/{channel_id}/messages"
CHANNEL = "/channels/{channel_id}"
PATIENCE = 10.0


@pytest.fixture
async def quick(client: discord.Client, scheduler: EditScheduler) -> AsyncIterator[DiscordSurface]:
    """A surface whose calls may take half a second."""
    made = DiscordSurface(client, budget=DiscordBudget(scheduler), call_timeout=0.5)
    try:
        yield made
    finally:
        await made.aclose()


@pytest.mark.parametrize("route", [CREATE_DM, MESSAGES])
async def test_a_private_note_discord_does_not_answer_fails_as_unavailable(
    sim: DiscordSimulator, quick: DiscordSurface, route: str
) -> None:
    where = place("channel", sim.channel("general").id, sim.guild_id)
    alice = str(sim.user("alice").id)
    async with stalled(sim, "POST", route) as held, asyncio.timeout(PATIENCE):
        with pytest.raises(PlatformUnavailable, match="did not answer"):
            await quick.tell_privately(where, alice, "only for you", about="1")
        assert held


async def test_a_thread_parent_lookup_discord_does_not_answer_finds_none(
    sim: DiscordSimulator, quick: DiscordSurface
) -> None:
    general = sim.channel("general")
    thread = sim.world.create_thread(  # not cached by the client: looked up
        general.id, owner_id=sim.bot.id, name="old", auto_archive_duration=60
    )
    async with stalled(sim, "GET", CHANNEL) as held, asyncio.timeout(PATIENCE):
        assert await quick.requests.parent_of(place("thread", thread.id, sim.guild_id)) is None
        assert held
    # Once Discord answers again, the parent is found.
    parent = await quick.requests.parent_of(place("thread", thread.id, sim.guild_id))
    assert parent == place("channel", general.id, sim.guild_id)
