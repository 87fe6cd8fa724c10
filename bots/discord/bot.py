"""One Discord bot: the client, the surface, the responder and the handlers, started and
stopped together.

``async with DiscordBot(runtime, settings) as bot:`` logs in, syncs the commands, connects
to the gateway and returns once the bot is ready; leaving the block shuts down in the order
that loses nothing: refuse new messages, let the turns in flight finish within the
shutdown grace, interrupt the rest (each reply is finalised with its partial text and an
"interrupted" notice while the client can still edit), stop the typing indicators, close
the client.

Start-up failures become one :class:`~core.errors.ConfigError` naming the variable to fix:
a rejected token (``DISCORD_TOKEN``), a refused privileged intent
(``DISCORD_MESSAGE_CONTENT``), a bad shard setting (``DISCORD_SHARD_COUNT``). Intents
Discord calls invalid (close code 4013) are no setting's fault: one ``SurfaceError`` line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp
import discord

from adapters.discord import (
    DISCORD_LIMITS,
    DiscordBudget,
    DiscordSurface,
    RateLimitReporter,
    WirePace,
)
from adapters.discord.context import DiscordContext
from adapters.discord.refs import DM_WORKSPACE
from bots.discord.client import BotClient, discord_endpoints
from bots.discord.commands import Commands
from bots.discord.handler import MessageHandler
from bots.discord.settings import DiscordSettings
from core.errors import ConfigError, SessionStoreError, SurfaceError
from core.lifecycle import Lifecycle
from core.ops.tasks import TurnTasks
from core.runtime import Runtime
from core.surface import SurfaceLimits
from core.turn import ThreadRef

__all__ = ["DiscordBot"]

log = logging.getLogger(__name__)

_TOKEN_HELP = "Discord rejected the token; copy it again (Developer Portal → Bot → Reset Token)"
_INTENT_HELP = (
    "Discord refused the privileged Message Content intent: switch it on (Developer Portal → "
    "your application → Bot → Privileged Gateway Intents → Message Content Intent) or unset "
    "DISCORD_MESSAGE_CONTENT"
)
_SHARD_HELP = "Discord refused the shard settings (close code {code})"
# 4013 "Invalid intent(s)": a bit Discord does not know (Opcodes and Status Codes > Gateway
# Close Event Codes). threadcast picks its intents itself (bots/discord/client.py), so no
# setting of the operator's is wrong: the gateway is not Discord's v10, or Discord changed.
_INVALID_INTENTS = (
    "the Discord gateway refused the intents threadcast asks for as invalid (close code 4013, "
    "intents {value}); no setting chooses them: if DISCORD_GATEWAY_URL is set, check that it "
    "is Discord's gateway, otherwise update threadcast or report this line"
)


# login() reads the token's user and the application before the gateway is opened.
_LOGIN_CALLS = 2
# The commands' sync: a read of the published commands, an overwrite, and with a
# development guild a read and a delete of the global copies.
_SYNC_CALLS = 4


class DiscordBot(Lifecycle):
    """See the module docstring."""

    def __init__(
        self,
        runtime: Runtime,
        settings: DiscordSettings,
        *,
        guild_ready_timeout: float = 2.0,
        heartbeat_timeout: float = 60.0,
        ready_timeout: float = 60.0,
        shutdown_grace: float | None = None,
        limits: SurfaceLimits = DISCORD_LIMITS,
    ) -> None:
        """``limits``: Discord's (the default); the tests pass a faster edit pace to match
        the faster channel bucket they give the simulator and ``settings``.
        ``heartbeat_timeout``: discord.py's (the default), after which a silent gateway
        connection is a zombie to close and resume; the tests shorten it."""
        self.settings = settings
        self.ready_timeout = ready_timeout
        self._sync_within = _SYNC_CALLS * settings.api_timeout
        # Replies get this long after a shutdown signal to finish before they are
        # interrupted (default: THREADCAST_SHUTDOWN_GRACE).
        self.shutdown_grace = (
            runtime.settings.shutdown_grace if shutdown_grace is None else shutdown_grace
        )
        # Every request of the bot draws on the process's edit scheduler, at Discord's rates.
        budget = DiscordBudget(runtime.scheduler, settings.rates)
        self.reporter = RateLimitReporter(budget)
        # Counted on the wire, too, from leaving until a second after the answer: tokens
        # spread out can bunch before they leave (the recovery record is written between)
        # and on the way to Discord (a late request arrives with the next ones).
        self.wire = WirePace(settings.rates.wire_limit)
        self.wire.attach(self.reporter.trace)
        self.client = BotClient(
            settings,
            self.reporter,
            on_message=self._on_message,
            on_setup=self._setup,
            on_interaction=self._on_interaction,
            on_delete=self._on_delete,
            on_bulk_delete=self._on_bulk_delete,
            guild_ready_timeout=guild_ready_timeout,
            heartbeat_timeout=heartbeat_timeout,
        )
        self.surface = DiscordSurface(
            self.client, budget=budget, limits=limits, call_timeout=settings.api_timeout
        )
        self.reporter.on_edit_limit = self.surface.reach.freeze
        self.surface.on_unusable = self._end_reply_in
        self.runtime = runtime
        # The thread's earlier messages, a reply's chain and users' files (issue 12).
        context = DiscordContext(self.client, rest_base=settings.rest_base)
        self.responder = runtime.responder(self.surface, context=context)
        self.tasks = TurnTasks()
        self.handler = MessageHandler(
            surface=self.surface,
            responder=self.responder,
            tasks=self.tasks,
            answer_bots=settings.answer_bots,
            reads_content=settings.message_content,
            archive_minutes=settings.thread_archive_minutes,
        )
        self.commands = Commands(
            self.client,
            self.responder,
            dev_guild=settings.command_guild,
            feedback=runtime.feedback,
        )
        self._connection: asyncio.Task[None] | None = None
        self._endpoints = contextlib.ExitStack()

    async def start(self) -> None:
        """Log in, connect, and return once the gateway is ready (or raise why not)."""
        self._endpoints.enter_context(discord_endpoints(self.settings))
        try:
            await self._login()
            me = self.client.user  # known once logged in: recovery is scoped to this bot
            if me is not None:
                self.runtime.recover("discord", str(me.id), self.surface)
            self._connection = asyncio.create_task(
                self.client.connect(reconnect=True), name="discord-gateway"
            )
            await self._until_ready(self._connection)
        except BaseException:
            await self.stop()
            raise

    async def wait(self) -> None:
        """Return when the gateway connection ends for good (raising why, if it failed).

        Cancelling the wait (a shutdown signal came first) cancels only the wait: the
        connection keeps running until :meth:`stop`.
        """
        connection = self._connection
        if connection is None:
            return
        await asyncio.wait({connection})
        if not connection.cancelled() and (failure := connection.exception()) is not None:
            raise _gateway_error(failure, self.client.intents)

    async def stop(self) -> None:
        """Shut down without losing a reply's final text; see the module docstring."""
        await self.tasks.drain(self.shutdown_grace)
        await self.surface.aclose()
        await self.client.close()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(connection, timeout=5.0)
        self._endpoints.close()

    # --- inside ----------------------------------------------------------------------------

    async def _login(self) -> None:
        # discord.py's session keeps aiohttp's default of 300 s a request: login()'s two
        # calls (the token's user, the application) get the call timeout each, and the
        # commands' sync it runs last (_setup) its own bound, which fails nothing.
        calls = _LOGIN_CALLS * self.settings.api_timeout
        try:
            async with asyncio.timeout(calls + self._sync_within):
                await self.client.login(self.settings.token.get_secret_value())
        except discord.LoginFailure as exc:
            raise ConfigError("DISCORD_TOKEN", _TOKEN_HELP) from exc
        except TimeoutError:
            where = self.settings.api_url or "https://discord.com"
            problem = f"cannot reach Discord at {where} to log in (no answer within {calls:g} s)"
            raise ConfigError("DISCORD_API_URL", problem) from None
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            # As Slack's: an unreachable platform at start-up names the URL's variable.
            where = self.settings.api_url or "https://discord.com"
            problem = f"cannot reach Discord at {where} to log in ({exc})"
            raise ConfigError("DISCORD_API_URL", problem) from exc

    async def _until_ready(self, connection: asyncio.Task[None]) -> None:
        ready = asyncio.create_task(self.client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {connection, ready},
                timeout=self.ready_timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            ready.cancel()
        if connection in done:
            raise _gateway_error(connection.exception(), self.client.intents)
        if not done:
            raise SurfaceError(f"the gateway was not ready within {self.ready_timeout:g}s")

    async def _setup(self) -> None:
        # Runs inside login(): register the Stop button and publish the commands.
        self.client.add_view(self.commands.stop_view)
        self.client.add_view(self.commands.feedback_view)
        if self.settings.sync_commands:
            await self.commands.sync(within=self._sync_within)

    async def _on_interaction(self, interaction: discord.Interaction) -> None:
        await self.commands.modal_submitted(interaction)

    def connected(self) -> bool:
        """Whether the gateway session is up and ready (the readiness probe)."""
        return self.client.is_ready() and not self.client.is_closed()

    def _end_reply_in(self, where: ThreadRef) -> None:
        """A place that can show nothing more (deleted, or refused): stop its reply, so the
        agent's stream is closed and the turn finalised instead of retrying for nothing."""
        if where.workspace == DM_WORKSPACE:
            return  # DMs are neither deleted nor permission-bound
        self.tasks.spawn(self._stop_reply(where), name=f"discord-end-{where.channel}")

    async def _stop_reply(self, where: ThreadRef) -> None:
        try:
            if await self.responder.stop(where, user="", is_dm=False):
                log.warning("stopped the reply in %s: Discord no longer takes it", where.channel)
        except SessionStoreError as exc:
            log.warning("could not stop the reply in %s: %s", where.channel, exc)

    def _on_message(self, message: discord.Message) -> None:
        me = self.client.user
        if me is None or self.tasks.closed:
            return
        self.handler.on_message(message, me.id)

    def _on_delete(self, deleted: discord.RawMessageDeleteEvent) -> None:
        me = self.client.user
        if me is None or self.tasks.closed:
            return
        asker = _dm_recipient(self.client, deleted.channel_id) if deleted.guild_id is None else ""
        self.handler.on_deleted(deleted, me.id, asker)

    def _on_bulk_delete(self, deleted: discord.RawBulkMessageDeleteEvent) -> None:
        me = self.client.user
        if me is None or self.tasks.closed:
            return
        self.handler.on_bulk_deleted(deleted, me.id)


def _dm_recipient(client: discord.Client, channel_id: int) -> str:
    """The person a DM channel is with, if the client knows the channel (else "")."""
    channel = client.get_channel(channel_id)
    recipient = channel.recipient if isinstance(channel, discord.DMChannel) else None
    return str(recipient.id) if recipient is not None else ""


def _gateway_error(exc: BaseException | None, intents: discord.Intents) -> BaseException:
    """Why the gateway connection ended, as the error a person can act on."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return ConfigError("DISCORD_MESSAGE_CONTENT", _INTENT_HELP)
    if isinstance(exc, discord.LoginFailure):
        return ConfigError("DISCORD_TOKEN", _TOKEN_HELP)
    if isinstance(exc, discord.ConnectionClosed):
        if exc.code == 4004:
            return ConfigError("DISCORD_TOKEN", _TOKEN_HELP)
        if exc.code in (4010, 4011):
            return ConfigError("DISCORD_SHARD_COUNT", _SHARD_HELP.format(code=exc.code))
        if exc.code == 4013:
            return SurfaceError(_INVALID_INTENTS.format(value=intents.value))
    if exc is None:
        return SurfaceError("the Discord gateway connection closed")
    return SurfaceError(f"the Discord gateway connection failed: {exc!r}")
