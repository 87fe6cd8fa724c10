"""A running simulator with a real discord.py client, and a DiscordSurface on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from adapters.discord import DiscordBudget, DiscordSurface, RateLimitReporter
from bots.simulators.discord import DiscordSimulator, running_client
from core.relay.scheduler import EditScheduler


def make_client(reporter: RateLimitReporter | None = None, **options: Any) -> discord.Client:
    if reporter is not None:
        options["http_trace"] = reporter.trace
    return discord.Client(
        intents=discord.Intents.default(),
        allowed_mentions=discord.AllowedMentions.none(),
        guild_ready_timeout=0.05,
        **options,
    )


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator() as simulator:
        yield simulator


@pytest.fixture
def scheduler() -> EditScheduler:
    return EditScheduler()


@pytest.fixture
def reporter(scheduler: EditScheduler) -> RateLimitReporter:
    return RateLimitReporter(DiscordBudget(scheduler))


@pytest.fixture
async def client(
    sim: DiscordSimulator, reporter: RateLimitReporter
) -> AsyncIterator[discord.Client]:
    bot = make_client(reporter)
    async with running_client(sim, bot):
        yield bot


@pytest.fixture
async def surface(
    client: discord.Client, scheduler: EditScheduler
) -> AsyncIterator[DiscordSurface]:
    made = DiscordSurface(client, budget=DiscordBudget(scheduler), typing_every=0.2)
    try:
        yield made
    finally:
        await made.aclose()
