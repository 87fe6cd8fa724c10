"""``DiscordSimulator``: the aiohttp app on 127.0.0.1, its lifecycle, and what tests read.

Acting as Discord's users (posting, mentioning, slash commands, button clicks, resumes) is
in ``actors``; this module owns the server and the assertions' view of the world.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from ..waiting import WAIT
from .clock import SimClock
from .config import SimulatorConfig
from .connection import GatewaySession
from .events import Events
from .gateway import Gateway
from .middleware import API_PREFIX, discord_middleware
from .models import THREAD_STARTER_MESSAGE, Call, SimChannel, SimInteraction, SimMessage, SimUser
from .ratelimits import RateLimiter
from .rest_app import app_routes
from .rest_channels import channel_routes
from .rest_interactions import interaction_routes
from .state import STATE, AfterCall, CallHook, Fault, SimState
from .world import World

__all__ = ["SimulatorServer"]


class SimulatorServer:
    """The running simulator: start with ``async with``; read state for assertions."""

    def __init__(self, config: SimulatorConfig | None = None, **overrides: Any) -> None:
        self.config = dataclasses.replace(config or SimulatorConfig(), **overrides)
        self.clock = SimClock()
        self.world = World(self.config, self.clock)
        self._runner: web.AppRunner | None = None
        self._state: SimState | None = None
        self.base_url = ""

    async def __aenter__(self) -> Self:
        changed = asyncio.Condition()
        gateway = Gateway(self.world, self.config, changed)
        limiter = RateLimiter(
            global_limit=self.config.global_limit,
            global_window=self.config.global_window,
            clock=self.clock.now,  # loop time: tests may run the buckets in fake time
        )
        events = Events(self.world, gateway, self.config)
        self._state = SimState(
            self.config, self.world, gateway, events, limiter, changed, self.clock
        )
        app = web.Application(
            middlewares=[discord_middleware], client_max_size=self.config.max_request_size * 2
        )
        app[STATE] = self._state
        app.add_routes(channel_routes() + app_routes() + interaction_routes())
        app.router.add_get("/gateway", gateway.handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self.world.base_url = self.base_url
        gateway.url = f"ws://{host}:{port}/gateway"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._state is not None:
            await self._state.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def state(self) -> SimState:
        if self._state is None:
            raise RuntimeError("the simulator is not running: use `async with`")
        return self._state

    # -- where discord.py connects ----------------------------------------------------------

    @property
    def api_base(self) -> str:
        """REST base including the version, for ``discord.http.Route.BASE``."""
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        """Websocket URL, for ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return self.state.gateway.url

    @property
    def token(self) -> str:
        return self.config.token

    # -- the world, for assertions ----------------------------------------------------------

    @property
    def bot(self) -> SimUser:
        return self.world.bot

    @property
    def application_id(self) -> int:
        return self.world.application_id

    @property
    def guild_id(self) -> int:
        return self.world.guild_id

    def channel(self, name: str) -> SimChannel:
        return self.world.channel_named(name)

    def user(self, name: str) -> SimUser:
        return self.world.user_named(name)

    def channel_messages(self, channel_id: int) -> list[SimMessage]:
        """Current messages of a channel, thread or DM, oldest first (deleted ones gone)."""
        return self.world.messages_in(channel_id)

    def posts(self, channel_id: int) -> list[SimMessage]:
        """:meth:`channel_messages` without the thread's starter message (type 21, a system
        message pointing at the message the thread was started from): what was posted."""
        return [m for m in self.world.messages_in(channel_id) if m.type != THREAD_STARTER_MESSAGE]

    def message(self, message_id: int) -> SimMessage | None:
        return self.world.find_message(message_id)

    def original_response(self, interaction: SimInteraction) -> SimMessage | None:
        """The message ``@original`` names: the bot's answer (or its "thinking" message),
        or for a component interaction deferred with 6/7 the message the component is on."""
        found = interaction.original_message_id
        return None if found is None else self.world.find_message(found)

    def threads(self) -> list[SimChannel]:
        return self.world.threads()

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        return self.world.commands.scope(guild_id)

    def command_picker(self, guild_id: int) -> list[str]:
        """The command names a member of ``guild_id`` is offered when typing ``/``: the
        guild's commands and the global ones, both — a guild and a global command may share
        a name, and then the guild shows it twice (discord/discord-api-docs issue #3885:
        "Unless you delete the guild commands, both the guild and global commands will
        display in that guild")."""
        return sorted(self.world.commands.names(guild_id) + self.world.commands.names(None))

    @property
    def calls(self) -> list[Call]:
        return self.state.calls

    def calls_to(self, method: str, route: str) -> list[Call]:
        """Recorded calls of one route template.

        E.g. ``calls_to("PATCH", "/channels/{channel_id}/messages/{message_id}")``.
        """
        return [c for c in self.state.calls if c.method == method and c.route == route]

    @property
    def sessions(self) -> list[GatewaySession]:
        return list(self.state.gateway.sessions.values())

    def advance_clock(self, seconds: float) -> None:
        """Let ``seconds`` pass for the simulator at once: messages age, rate-limit windows
        reset, interaction deadlines run out (see ``clock``)."""
        self.clock.advance(seconds)

    # -- scripting failures ------------------------------------------------------------------

    def inject_failure(
        self,
        method: str,
        route: str,
        *,
        status: int = 429,
        times: int = 1,
        channel_id: int | None = None,
        retry_after: float = 1.0,
        is_global: bool = False,
        code: int = 0,
        message: str = "Injected failure",
    ) -> Fault:
        """Fail the next ``times`` matching requests (a 429 carries all of Discord's headers)."""
        fault = Fault(
            method, route, status, times, channel_id, retry_after, is_global, code, message
        )
        self.state.faults.append(fault)
        return fault

    def after_call(
        self,
        method: str,
        route: str,
        hook: CallHook,
        *,
        match: Callable[[Call], bool] | None = None,
    ) -> AfterCall:
        """Await ``hook(call)`` once, when the next matching request has been applied and
        before it is answered: e.g. kill the bot between Discord creating its message and
        the bot learning the message's id (see :class:`~.state.AfterCall`)."""
        after = AfterCall(method, route, hook, match)
        self.state.after.add(after)
        return after

    def start_outage(self) -> None:
        """Discord's API goes down: every REST call answers 503 until :meth:`end_outage`
        (the gateway stays up: an API outage, as status.discord.com reports them)."""
        self.state.down = True

    def end_outage(self) -> None:
        self.state.down = False

    # -- waiting -----------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], within: float = WAIT) -> None:
        """Wait until ``predicate()`` holds; re-checked after every call and session change."""
        changed = self.state.changed
        async with asyncio.timeout(within), changed:
            await changed.wait_for(predicate)

    async def wait_for_session(self, within: float = WAIT) -> GatewaySession:
        """The first connected, identified gateway session."""
        await self.wait_until(lambda: any(s.connection for s in self.sessions), within)
        return next(s for s in self.sessions if s.connection is not None)

    async def delivered(self) -> None:
        """Wait until every dispatched event has been written to its websocket."""
        await self.state.gateway.drain()
