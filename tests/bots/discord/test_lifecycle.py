"""Starting, failing to start, redelivered events, and stopping cleanly."""

from __future__ import annotations

import asyncio
import logging
import os
import signal

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bots.discord import DiscordBot, DiscordSettings
from bots.discord.app import EXIT_FAILED, run_discord
from bots.simulators.discord import DiscordSimulator, SimMessage
from bots.simulators.discord.config import GUILD_MESSAGES, GUILDS
from bots.simulators.discord.models import Call
from bots.simulators.discord.state import AnswerLost
from core.config import Settings
from core.errors import ConfigError
from core.runtime import Runtime
from core.texts import INTERRUPTED
from tests.bots.discord.conftest import BotWorld, World, bot_settings
from tests.discord_stalls import stalled
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words

DEFAULT_BASE = "https://discord.com/api/v10"


async def start_bot(
    sim: DiscordSimulator,
    redis_url: str,
    *,
    token: str | None = None,
    intent: bool = False,
    api_timeout: float = 30.0,
) -> None:
    settings = DiscordSettings(
        token=token or sim.token,
        api_url=sim.base_url,  # without /api/v10: added
        gateway_url=sim.gateway_url,
        message_content=intent,
        api_timeout=api_timeout,
    )
    async with (
        Runtime(Settings(redis_url=redis_url, agent="demo")) as runtime,
        DiscordBot(runtime, settings, guild_ready_timeout=0.05),
    ):
        pass


async def test_a_bad_token_is_one_clear_error(redis_url: str) -> None:
    async with DiscordSimulator() as sim:
        with pytest.raises(ConfigError) as error:
            await start_bot(sim, redis_url, token="not-the-token")
        assert error.value.variable == "DISCORD_TOKEN"
        assert sim.sessions == []
    assert Route.BASE == DEFAULT_BASE  # the endpoint overrides are undone
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "wss://gateway.discord.gg/"


# Far below aiohttp's 300 s, which bounded these calls alone, far above the bot's bounds.
GUARD = 20.0


async def test_a_login_left_unanswered_is_one_clear_error(redis_url: str) -> None:
    """discord.py's session keeps aiohttp's 300 s a request: a Discord that never answers
    the log-in held the start that long."""
    async with DiscordSimulator() as sim, stalled(sim, "GET", "/users/@me") as held:
        with pytest.raises(ConfigError) as error:
            async with asyncio.timeout(GUARD):
                await start_bot(sim, redis_url, api_timeout=0.5)
        assert held and sim.sessions == []
    assert error.value.variable == "DISCORD_API_URL"
    assert "to log in (no answer within 1 s)" in str(error.value)


async def test_a_command_sync_left_unanswered_is_logged_and_the_bot_starts(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The sync runs inside discord.py's login(); unbounded it held the start 300 s. It
    fails nothing: the commands published before keep working."""
    commands = "/applications/{application_id}/commands"
    async with DiscordSimulator() as sim, stalled(sim, "GET", commands) as held:
        with caplog.at_level(logging.ERROR, logger="bots.discord.command_sync"):
            async with asyncio.timeout(GUARD):
                await start_bot(sim, redis_url, api_timeout=0.5)
        assert held and sim.sessions  # the gateway session opened all the same
    assert "could not sync the application commands: no answer within 2 s" in caplog.text


async def test_a_refused_intent_is_one_clear_error(redis_url: str) -> None:
    async with DiscordSimulator(allowed_privileged_intents=0) as sim:
        with pytest.raises(ConfigError) as error:
            await start_bot(sim, redis_url, intent=True)
        assert error.value.variable == "DISCORD_MESSAGE_CONTENT"
        assert "Privileged Gateway Intents" in str(error.value)
        # Without the privileged intent the same application starts fine.
        await start_bot(sim, redis_url)
    assert Route.BASE == DEFAULT_BASE


async def test_intents_discord_calls_invalid_end_the_bot_with_one_clear_line(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Close code 4013: the operator reads what happened and that no setting of theirs is
    wrong, not discord.py's ``ConnectionClosed`` repr; the process exits as failed."""
    async with DiscordSimulator(known_intents=GUILDS | GUILD_MESSAGES) as sim:  # no DMs
        monkeypatch.setenv("DISCORD_TOKEN", sim.token)
        monkeypatch.setenv("DISCORD_API_URL", sim.api_base)
        monkeypatch.setenv("DISCORD_GATEWAY_URL", sim.gateway_url)
        capsys.readouterr()
        settings = Settings(redis_url=redis_url, agent="demo", port=0, log_format="text")
        status = await run_discord(settings)
        assert sim.sessions == []
    assert status == EXIT_FAILED
    (line,) = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert line == (
        "threadcast: the Discord gateway refused the intents threadcast asks for as invalid "
        "(close code 4013, intents 4609); no setting chooses them: if DISCORD_GATEWAY_URL is "
        "set, check that it is Discord's gateway, otherwise update threadcast or report this "
        "line"
    )
    assert Route.BASE == DEFAULT_BASE


async def test_redelivery_after_a_resume_is_answered_once(world: World) -> None:
    sim = world.sim
    mention = await sim.user_message(sim.channel("general").id, "once", mention_bot=True)
    await world.answered(1)
    await sim.redeliver_after_resume(mention.id)
    await world.quiet()
    follow_up = await sim.user_message(mention.id, "and once more", mention_bot=True)
    await world.answered(2)
    await sim.redeliver_after_resume(follow_up.id)
    await world.answered(3)  # the gate saw it again …
    assert world.results[2].status == "duplicate"  # … and dropped it
    assert len(sim.threads()) == 1
    assert [m.content for m in world.bot_messages(mention.id)] == [
        "You said: once",
        "You said: and once more",
    ]
    assert len(world.lyzr.stream_requests()) == 2


async def test_shutdown_finishes_replies_in_flight(bot_world: BotWorld) -> None:
    async with bot_world(shutdown_grace=0.0) as world:
        sim = world.sim
        words = split_words(" ".join(f"w{n}" for n in range(100)))
        # The last word is held until the shutdown: the reply used to end by itself after
        # 10 s, and on a loaded machine it could end before the first edit was seen.
        world.lyzr.enqueue(LyzrScript(tokens=words, delay=0.1, hold_after=99))
        start = await sim.user_message(sim.channel("general").id, "long", mention_bot=True)
        await sim.wait_until(lambda: any(m.edit_count for m in world.bot_messages(start.id)))
        await world.bot.stop()  # what leaving the block (or SIGTERM) does
        (message,) = world.bot_messages(start.id)
        assert message.content.endswith(INTERRUPTED) and message.components == []
        assert len(world.bot.tasks) == 0
        assert world.lyzr.streams[0].disconnected


async def test_run_discord_stops_on_sigterm(
    redis_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with DiscordSimulator() as sim, LyzrServer() as lyzr:
        monkeypatch.setenv("DISCORD_TOKEN", sim.token)
        monkeypatch.setenv("DISCORD_API_URL", sim.api_base)
        monkeypatch.setenv("DISCORD_GATEWAY_URL", sim.gateway_url)
        settings = bot_settings(redis_url, lyzr, port=0, shutdown_grace=0.5)
        # The last word is held until the SIGTERM (the reply would otherwise end by itself).
        lyzr.enqueue(LyzrScript(tokens=split_words(" ".join(["x"] * 200)), delay=0.1,
                                hold_after=199))  # fmt: skip
        running = asyncio.create_task(run_discord(settings))
        await sim.wait_for_session()
        await sim.wait_until(lambda: len(sim.commands()) == 4)  # new, stop, help, status
        start = await sim.user_message(sim.channel("general").id, "hi", mention_bot=True)
        # The bot's reply, past the thread's starter message (type 21).
        await sim.wait_until(lambda: bool(_posted_by_bot(sim, start.id)))
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(running, timeout=30) == 0
        (message,) = _posted_by_bot(sim, start.id)
        assert message.content.endswith(INTERRUPTED)
    assert Route.BASE == DEFAULT_BASE


async def test_missing_token_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(ConfigError) as error:
        await run_discord(Settings(agent="demo"))
    assert error.value.variable == "DISCORD_TOKEN"


async def test_one_shard_of_two(bot_world: BotWorld) -> None:
    async with bot_world(discord={"shard_id": 0, "shard_count": 2}) as world:
        (session,) = world.sim.sessions
        assert session.shard == (0, 2)
        await world.sim.dm_message("hello shard zero")  # DMs go to shard 0
        await world.answered(1)
        dm = world.sim.world.dm_channel(world.sim.user("alice").id)
        assert [m.content for m in world.bot_messages(dm.id)] == ["You said: hello shard zero"]


def _posted_by_bot(sim: DiscordSimulator, channel_id: int) -> list[SimMessage]:
    return [m for m in sim.channel_messages(channel_id) if m.author.id == sim.bot.id]


async def test_a_command_sync_whose_connection_breaks_is_logged_and_the_bot_starts(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Log-in reached Discord, so a network failure in the sync after it is one more way
    for the sync to fail: logged, and the bot starts (it stopped the start, blamed on
    DISCORD_API_URL)."""
    commands = "/applications/{application_id}/commands"

    async def break_connection(_: Call) -> None:
        raise AnswerLost

    async with DiscordSimulator() as sim:
        for _ in range(5):  # discord.py retries a broken connection: every try breaks
            sim.after_call("GET", commands, break_connection)
        with caplog.at_level(logging.ERROR, logger="bots.discord.command_sync"):
            async with asyncio.timeout(GUARD):
                await start_bot(sim, redis_url)
        assert sim.sessions  # the gateway session opened all the same
    assert "could not sync the application commands: Server disconnected" in caplog.text
