"""The real bot (discord.py client, Runtime, real Redis) against the Discord simulator, with
the scriptable local Lyzr agent.

``bot_world`` starts everything and yields a :class:`World`; the ``world`` fixture is the
default one. Keys live under the test's ``namespace``, so runs never see each other's
sessions or dedup marks.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from adapters.discord import DISCORD_LIMITS
from bots.discord import DiscordBot, DiscordSettings
from bots.simulators.discord import DiscordSimulator, SimMessage
from core.config import Settings
from core.governance.access import Admission
from core.responder import Ready, Responder, TurnResult
from core.runtime import Runtime
from core.surface import ChatSurface, SurfaceLimits
from core.turn import Turn
from tests.servers.lyzr_server import LyzrServer
from tests.waiting import eventually

MESSAGES = "/channels/{channel_id}/messages"
MESSAGE = "/channels/{channel_id}/messages/{message_id}"
TYPING = "/channels/{channel_id}/typing"


def bot_settings(redis_url: str, lyzr: LyzrServer, **core: Any) -> Settings:
    """A test bot's core settings: the scriptable local Lyzr agent and the test Redis."""
    return Settings(
        redis_url=redis_url,
        agent="lyzr",
        lyzr_api_key=lyzr.api_key,
        lyzr_agent_id="agent-1",
        lyzr_api_base=lyzr.url,
        artifact_allow_hosts="127.0.0.1",  # the local agent serves its files on loopback
        **core,
    )


def sim_settings(sim: DiscordSimulator, **options: Any) -> DiscordSettings:
    """A bot's Discord settings for ``sim`` (its token, REST and gateway URLs), and
    ``options``."""
    return DiscordSettings(
        token=sim.token, api_url=sim.api_base, gateway_url=sim.gateway_url, **options
    )


def record_results(responder: Responder) -> list[TurnResult]:
    """Every turn's result, in the order the turns end: ``responder.handle`` (the bot's one
    way into the core for a message) appends to the returned list. The bot keeps none."""
    results: list[TurnResult] = []
    handle = responder.handle

    async def handle_and_record(
        turn: Turn,
        *,
        admission: Admission | None = None,
        surface: ChatSurface | None = None,
        ready: Ready | None = None,
    ) -> TurnResult:
        result = await handle(turn, admission=admission, surface=surface, ready=ready)
        results.append(result)
        return result

    responder.handle = handle_and_record  # type: ignore[method-assign]
    return results


@dataclass
class World:
    sim: DiscordSimulator
    lyzr: LyzrServer
    runtime: Runtime
    bot: DiscordBot
    results: list[TurnResult]

    def bot_messages(self, channel_id: int) -> list[SimMessage]:
        return [m for m in self.sim.channel_messages(channel_id) if m.author.id == self.sim.bot.id]

    def session_ids(self) -> list[str]:
        """The session id of every agent call, in order."""
        return [r.json["session_id"] for r in self.lyzr.stream_requests()]

    async def answered(self, count: int, within: float = 15.0) -> None:
        """Wait until ``count`` turns in all have been handled (answered or dropped)."""
        async with asyncio.timeout(within):
            while len(self.results) < count:  # noqa: ASYNC110 - results is a plain list
                await asyncio.sleep(0.02)
            await self.bot.tasks.idle()

    async def quiet(self) -> None:
        """Wait until the bot has read every event the simulator sent and finished what
        they started: what it has not done by then, it will not do (no window of time to
        outwait). The gateway's sequence number says the bot read an event; reading it,
        discord.py dispatches it in a task of its own (``discord.py: message``), in which
        the bot decides at once and puts any answer in its tasks."""
        await self.sim.delivered()
        sessions = [s for s in self.sim.sessions if s.connection is not None]
        sent = max((s.seq for s in sessions), default=0)

        def all_read() -> bool:
            read = self.bot.client.ws.sequence if self.bot.client.ws is not None else None
            return (read or 0) >= sent and not any(
                t.get_name() == "discord.py: message" and not t.done() for t in asyncio.all_tasks()
            )

        await eventually(all_read, within=15.0, what="the bot read every event")
        async with asyncio.timeout(15.0):
            await self.bot.tasks.idle()

    async def until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        await self.sim.wait_until(predicate, within)


BotWorld = Callable[..., contextlib.AbstractAsyncContextManager[World]]

FAST_CHANNEL_BUCKET = {"channel_window": 1.0}
"""Discord's per-channel message bucket (5 per 5 s) with a 1 s window, in the simulator and
in the bot's budget alike: the same bucket and the same pacing of posts and edits (one per
window / 4), five times sooner, so a test does not wait 1.25 s between a reply's post and
its edits. A test that gives its own ``channel_window`` or ``channel_limit`` keeps it."""
FAST_LIMITS = dataclasses.replace(DISCORD_LIMITS, min_edit_interval=0.2)
"""The writer's per-message pace (1 s) five times sooner too, to match."""


@pytest.fixture
def bot_world(redis_url: str, namespace: str) -> BotWorld:
    @contextlib.asynccontextmanager
    async def start(
        *,
        sim: dict[str, Any] | None = None,
        discord: dict[str, Any] | None = None,
        redis: str | None = None,
        limits: SurfaceLimits = FAST_LIMITS,
        heartbeat_timeout: float = 60.0,
        **core: Any,
    ) -> AsyncIterator[World]:
        """``redis`` replaces the test Redis's URL (e.g. a :class:`SlowRedis` in front);
        ``heartbeat_timeout`` is discord.py's (after it, a silent connection is a zombie)."""
        # Replies still running when a test ends are interrupted at once.
        core.setdefault("shutdown_grace", 0.0)
        sim = {**FAST_CHANNEL_BUCKET, **(sim or {})}
        discord = {**FAST_CHANNEL_BUCKET, **(discord or {})}
        async with DiscordSimulator(**sim) as simulator, LyzrServer() as lyzr:
            core.setdefault("redis_namespace", namespace)
            settings = bot_settings(redis or redis_url, lyzr, **core)
            async with Runtime(settings, namespace=namespace) as runtime:
                options = sim_settings(simulator, **discord)
                bot = DiscordBot(
                    runtime,
                    options,
                    guild_ready_timeout=0.05,
                    heartbeat_timeout=heartbeat_timeout,
                    limits=limits,
                )
                results = record_results(bot.responder)
                async with bot:
                    yield World(simulator, lyzr, runtime, bot, results)

    return start


@pytest.fixture
async def world(bot_world: BotWorld) -> AsyncIterator[World]:
    async with bot_world() as started:
        yield started
