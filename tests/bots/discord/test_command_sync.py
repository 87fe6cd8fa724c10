"""Publishing the application commands at start-up (``CommandTree.sync``: a bulk overwrite,
``PUT /applications/{id}/commands``, or the guild's)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

from bots.discord import DiscordBot, texts
from bots.simulators.discord import Call, DiscordSimulator
from core.runtime import Runtime
from tests.bots.discord.conftest import bot_settings, sim_settings
from tests.servers.lyzr_server import LyzrServer

GLOBAL = "/applications/{application_id}/commands"
GUILD = "/applications/{application_id}/guilds/{guild_id}/commands"
NAMES = ["help", "new", "status", "stop"]

Start = Callable[..., contextlib.AbstractAsyncContextManager[DiscordBot]]


@contextlib.asynccontextmanager
async def simulated(
    redis_url: str, namespace: str
) -> AsyncIterator[tuple[DiscordSimulator, LyzrServer, Start]]:
    """A simulator and an agent that outlive the bots started on them (restarts)."""
    async with DiscordSimulator() as sim, LyzrServer() as lyzr:
        settings = bot_settings(redis_url, lyzr, redis_namespace=namespace, shutdown_grace=0.0)
        async with Runtime(settings, namespace=namespace) as runtime:

            @contextlib.asynccontextmanager
            async def start(**options: Any) -> AsyncIterator[DiscordBot]:
                discord = sim_settings(sim, **options)
                async with DiscordBot(runtime, discord, guild_ready_timeout=0.05) as bot:
                    yield bot

            yield sim, lyzr, start


async def test_a_long_rate_limit_on_the_sync_does_not_stop_the_bot(
    redis_url: str, namespace: str
) -> None:
    """A 429 longer than discord.py's ``max_ratelimit_timeout`` raises ``RateLimited``,
    which is no ``HTTPException``: it escaped the sync's error handling and failed the
    start-up, though the commands of the previous start still work and mentions need none."""
    async with simulated(redis_url, namespace) as (sim, _, start):
        sim.inject_failure("PUT", GLOBAL, retry_after=600.0)
        async with start() as bot:
            assert bot.connected()
            assert sim.commands() == []  # not published this time: logged, not fatal
        async with start():  # the next start publishes them
            assert sorted(c["name"] for c in sim.commands()) == NAMES


async def test_unchanged_commands_are_not_published_again(redis_url: str, namespace: str) -> None:
    async with simulated(redis_url, namespace) as (sim, _, start):
        async with start():
            assert sorted(c["name"] for c in sim.commands()) == NAMES
        async with start():
            pass
        assert len(sim.calls_to("PUT", GLOBAL)) == 1  # the restart only looked
        assert len(sim.calls_to("GET", GLOBAL)) == 2
        # An older version's text is still published: overwritten.
        sim.world.commands.upsert(None, {"name": "help", "description": "Old.", "type": 1})
        async with start():
            pass
        assert len(sim.calls_to("PUT", GLOBAL)) == 2
        (help_,) = [c for c in sim.commands() if c["name"] == "help"]
        assert help_["description"] != "Old."


async def test_commands_are_offered_only_where_the_bot_is(redis_url: str, namespace: str) -> None:
    """Guild installs only, in guilds and the bot's DM: not in the servers and group DMs of
    a user who installed the app for themselves (discord-api-docs, Application Commands >
    Contexts: ``integration_types`` 0 GUILD_INSTALL; ``contexts`` 0 GUILD, 1 BOT_DM)."""
    async with simulated(redis_url, namespace) as (sim, _, start):
        async with start():
            pass
        for command in sim.commands():
            assert sorted(command["integration_types"]) == [0], command["name"]
            assert sorted(command["contexts"]) == [0, 1], command["name"]
        async with start():
            pass
        assert len(sim.calls_to("PUT", GLOBAL)) == 1  # the fields compare equal: unchanged
        # A version published before the restriction: Discord's defaults, ``contexts: null``
        # and ``integration_types: [0]`` (discord-api-docs issue #6744). Overwritten once.
        sim.world.commands.upsert(
            None, {"name": "new", "description": texts.NEW_DESCRIPTION, "type": 1}
        )
        (old,) = [c for c in sim.commands() if c["name"] == "new"]
        assert old["contexts"] is None and old["integration_types"] == [0]
        async with start():
            pass
        async with start():
            pass
        assert len(sim.calls_to("PUT", GLOBAL)) == 2
        (new,) = [c for c in sim.commands() if c["name"] == "new"]
        assert sorted(new["contexts"]) == [0, 1]
        # The same contexts in another order are the same: not published again.
        sim.world.commands.upsert(None, {**new, "contexts": [1, 0]})
        async with start():
            pass
        assert len(sim.calls_to("PUT", GLOBAL)) == 2


async def test_the_development_guild_shows_each_command_once(
    redis_url: str, namespace: str
) -> None:
    async with simulated(redis_url, namespace) as (sim, _, start):
        guild = sim.channel("general").guild_id
        assert guild is not None
        async with start(command_guild=guild):
            assert sim.command_picker(guild) == NAMES
        assert sim.calls_to("PUT", GLOBAL) == []


async def test_moving_to_a_development_guild_withdraws_the_global_copies(
    redis_url: str, namespace: str
) -> None:
    """Commands published globally by an earlier start stayed when the operator then set
    ``DISCORD_COMMAND_GUILD``, and that guild offered each twice. Ours go; an operator's own
    global command of the same application stays."""
    async with simulated(redis_url, namespace) as (sim, _, start):
        guild = sim.channel("general").guild_id
        assert guild is not None
        async with start():
            assert sim.command_picker(guild) == NAMES
        sim.world.commands.upsert(None, {"name": "deploy", "description": "Operator's own"})
        async with start(command_guild=guild):
            assert sim.command_picker(guild) == sorted([*NAMES, "deploy"])
        assert [c["name"] for c in sim.commands()] == ["deploy"]


async def test_a_global_copy_another_replica_withdrew_first_does_not_stop_the_others(
    redis_url: str, namespace: str
) -> None:
    """Two replicas start together: between this one listing the global commands and
    deleting them, the other deleted /help. Its 404 is no failure: the rest go too."""
    async with simulated(redis_url, namespace) as (sim, _, start):
        guild = sim.channel("general").guild_id
        assert guild is not None
        async with start():
            assert sorted(c["name"] for c in sim.commands()) == NAMES

        async def other_replica(_: Call) -> None:
            sim.world.commands.delete(None, sim.world.commands.command_id("help", None))

        sim.after_call("GET", GLOBAL, other_replica)
        async with start(command_guild=guild):
            assert sim.command_picker(guild) == NAMES
        assert sim.commands() == []


async def test_unchanged_commands_of_the_development_guild_are_not_published_again(
    redis_url: str, namespace: str
) -> None:
    """A guild's commands come back without ``dm_permission`` (a global command's field),
    which discord.py sends on every command: compared, it made every start overwrite the
    guild's commands."""
    async with simulated(redis_url, namespace) as (sim, _, start):
        guild = sim.channel("general").guild_id
        assert guild is not None
        async with start(command_guild=guild):
            pass
        async with start(command_guild=guild):
            pass
        assert all("dm_permission" not in command for command in sim.commands(guild))
        assert len(sim.calls_to("PUT", GUILD)) == 1  # the restart only looked
