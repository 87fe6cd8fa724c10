"""The Discord simulator's Get Channel Messages (issue 12), checked with the real discord.py
client's ``history()`` and raw HTTP: paging with before/after, the limit's range, Read
Message History, and content hidden without the Message Content intent over REST too."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import discord
import pytest

from bots.simulators.discord import DiscordSimulator, running_client


@pytest.fixture
async def sim() -> AsyncIterator[DiscordSimulator]:
    async with DiscordSimulator() as simulator:
        yield simulator


def client(content: bool) -> discord.Client:
    intents = discord.Intents.default()
    intents.message_content = content
    return discord.Client(intents=intents, guild_ready_timeout=0.05)


async def test_history_pages_before_and_after(sim: DiscordSimulator) -> None:
    general = sim.channel("general").id
    posted = [await sim.user_message(general, f"m{n}") for n in range(250)]
    bot = client(content=True)
    async with running_client(sim, bot):
        channel = bot.get_partial_messageable(general)
        newest = [m.content async for m in channel.history(limit=120, before=posted[-1])]
        assert newest == [f"m{n}" for n in range(248, 128, -1)]
        after = [m.content async for m in channel.history(limit=5, after=posted[10])]
        assert after == [f"m{n}" for n in range(11, 16)]  # discord.py: oldest first
    reads = [c for c in sim.calls if c.method == "GET" and c.channel_id == general]
    assert [c.query.get("limit") for c in reads[:2]] == ["100", "20"]


async def test_limit_range_permission_and_hidden_content(sim: DiscordSimulator) -> None:
    general = sim.channel("general").id
    await sim.user_message(general, "secret plans", author="bob")
    await sim.user_message(general, "hi bot", mention_bot=True)
    url = f"{sim.api_base}/channels/{general}/messages"
    headers = {"Authorization": f"Bot {sim.token}"}
    bot = client(content=False)
    async with running_client(sim, bot), aiohttp.ClientSession() as http:
        async with http.get(url, params={"limit": "101"}, headers=headers) as bad:
            assert bad.status == 400 and (await bad.json())["code"] == 50035
        async with http.get(url, headers=headers) as ok:
            mention, hidden = await ok.json()
        assert hidden["content"] == "" and hidden["author"]["username"] == "bob"
        assert mention["content"].endswith("hi bot")  # mentions keep their text
        sim.deny(general, "READ_MESSAGE_HISTORY")
        async with http.get(url, headers=headers) as none:
            assert none.status == 200 and await none.json() == []
