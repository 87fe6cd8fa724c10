"""``threadcast slack``: check the settings and the token, then serve until SIGTERM/SIGINT.

Start-up, in the order that fails fastest and clearest: the ``SLACK_*`` settings
(:class:`~core.errors.ConfigError` naming the variable), ``auth.test`` with the bot token
(a bad token is reported as ``SLACK_BOT_TOKEN: ...``), then Redis and the agent (the core's
:class:`Runtime`), then the web server on ``PORT`` and, in Socket Mode, the websocket
(``apps.connections.open`` through ``SLACK_API_URL``; a bad app token is reported as
``SLACK_APP_TOKEN: ...``). Stopping reverses it: no new events, replies in flight get
``THREADCAST_SHUTDOWN_GRACE`` seconds, native streams' stops still queued get what is left
of the drain's budget (the rest are left to crash recovery), then everything is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_bolt.middleware.authorization.async_single_team_authorization import (
    AsyncSingleTeamAuthorization,
)
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.slack.client import SlackClients
from adapters.slack.context import SlackContext
from adapters.slack.errors import SlackError, translate
from adapters.slack.surface import SlackSurface
from bots.signals import handling_signals
from bots.slack.bot import SlackBot
from bots.slack.events import BotIdentity, EventFilter
from bots.slack.server import EVENTS_PATH, WebServer, web_app
from bots.slack.settings import SlackSettings, load_slack_settings
from core.config import Settings, secret_value
from core.errors import ConfigError
from core.lifecycle import StackedLifecycle
from core.ops import heap
from core.ops.http import Probes
from core.runtime import Runtime

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

__all__ = ["SlackService", "check_token", "run_slack"]

log = logging.getLogger(__name__)


async def run_slack(settings: Settings) -> int:
    """Run the Slack bot until SIGTERM or SIGINT; returns the exit status."""
    slack = load_slack_settings()
    stop = asyncio.Event()
    with handling_signals(dict.fromkeys((signal.SIGTERM, signal.SIGINT), stop.set)):
        async with SlackService(settings, slack) as service:
            mode = "Socket Mode" if slack.socket_mode else f"HTTP mode at {service.events_url}"
            log.warning("threadcast Slack bot running (%s); health at %s", mode, service.health_url)
            await stop.wait()
            log.warning("stopping: letting replies in flight finish")
    return 0


async def check_token(clients: SlackClients) -> tuple[BotIdentity, AsyncSlackResponse]:
    """``auth.test``: who the bot is (and Slack's answer itself, for bolt), or a
    ConfigError saying what is wrong."""
    try:
        async with asyncio.timeout(clients.timeout):
            answer = await clients.client.auth_test()
    except Exception as exc:
        error = translate(exc, method="auth.test", scope=None)
        if isinstance(error, SlackError) and not error.transient:
            raise ConfigError("SLACK_BOT_TOKEN", f"Slack refused it ({error.code})") from None
        raise ConfigError(
            "SLACK_API_URL", f"cannot reach Slack at {clients.api_url} ({error})"
        ) from None
    team, user, bot = answer.get("team_id"), answer.get("user_id"), answer.get("bot_id")
    if not (isinstance(team, str) and isinstance(user, str)):
        raise ConfigError("SLACK_BOT_TOKEN", "auth.test did not name a team and a bot user")
    identity = BotIdentity(team_id=team, user_id=user, bot_id=bot if isinstance(bot, str) else "")
    return identity, answer


class _NoTokenNotice(logging.Filter):
    """Drops bolt's "As you gave `client` as well, `token` will be unused.": bolt reads
    SLACK_BOT_TOKEN from the environment itself, and the app is given the client built
    from that very token, so every start logged a WARNING that is no problem."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_BOLT_LOGGER = logging.getLogger("slack_bolt.AsyncApp")  # bolt's get_bolt_logger(AsyncApp)
if not any(isinstance(f, _NoTokenNotice) for f in _BOLT_LOGGER.filters):
    _BOLT_LOGGER.addFilter(_NoTokenNotice())


def _authorized(app: AsyncApp, answer: AsyncSlackResponse) -> None:
    """Give bolt the start-up ``auth.test`` answer. Its single-workspace authorization
    otherwise calls ``auth.test`` on the first request it serves, before any listener can
    acknowledge it (slack_bolt/middleware/authorization/async_single_team_authorization.py):
    a Slack slow to answer then makes that event miss its 3 s, and Slack retry it."""
    for middleware in app._async_middleware_list:  # bolt takes no auth.test answer itself
        if isinstance(middleware, AsyncSingleTeamAuthorization):
            middleware.auth_test_result = answer


class SlackService(StackedLifecycle):
    """Everything ``threadcast slack`` runs, opened and closed together.

    ``runtime``: use an open Runtime (tests share one, with a namespaced session store)
    instead of opening one from ``settings``.
    """

    bot: SlackBot
    surface: SlackSurface
    identity: BotIdentity

    def __init__(
        self, settings: Settings, slack: SlackSettings, *, runtime: Runtime | None = None
    ) -> None:
        super().__init__()
        self.settings = settings
        self.slack = slack
        self._runtime = runtime
        self._server: WebServer | None = None
        self._socket: AsyncSocketModeHandler | None = None
        self._stopping_at: float | None = None  # loop time the shutdown began

    @property
    def url(self) -> str:
        assert self._server is not None
        return self._server.url

    @property
    def events_url(self) -> str:
        return self.url + EVENTS_PATH

    @property
    def health_url(self) -> str:
        return self.url + "/healthz"

    async def _open(self) -> None:
        slack = self.slack
        clients = await self._stack.enter_async_context(
            SlackClients(
                slack.bot_token.get_secret_value(), api_url=slack.api_url, timeout=slack.api_timeout
            )
        )
        self.identity, checked = await check_token(clients)
        runtime = self._runtime
        if runtime is None:
            runtime = await self._stack.enter_async_context(
                Runtime(self.settings, reload_signal=True)
            )
        self.surface = SlackSurface(clients.api, slack.surface_config())
        self._stack.push_async_callback(self._close_surface)
        app = AsyncApp(
            # The name bolt would take from its caller's file: given, bolt skips the
            # inspect.stack() that reads every frame's source (~20 ms of CPU per start).
            name=Path(__file__).name,
            client=clients.client,
            signing_secret=secret_value(slack.signing_secret),
            process_before_response=False,
            # The web server checks signatures before bolt parses (and would log) a body.
            request_verification_enabled=False,
        )
        _authorized(app, checked)
        rules = EventFilter(follow_ups=slack.follow_ups, answer_bots=slack.answer_bots)
        context = SlackContext(
            clients.client, token=slack.bot_token.get_secret_value(),
            bot_user_id=self.identity.user_id, bot_id=self.identity.bot_id,
            api_url=slack.api_url, timeout=slack.api_timeout,
        )  # fmt: skip
        self.bot = SlackBot(
            app,
            runtime,
            self.surface,
            self.identity,
            rules,
            context=context,
            assistant=slack.assistant_options(),
            names=context.names,
        )
        # Closed in reverse: events stop first, then replies drain, then the rest closes.
        self._stack.push_async_callback(self.bot.drain, self.settings.shutdown_grace)
        probes = Probes(
            runtime.redis,
            platform_ready=self._connected,
            draining=lambda: self.bot.tasks.closed,
            details=self._health,
            problems=self._problems,
        )
        self._server = WebServer(
            web_app(
                None if slack.socket_mode else app,
                probes,
                signing_secret=secret_value(slack.signing_secret) or "",
            ),
            host=slack.host,
            port=self.settings.port,
        )
        heap.settle()  # start-up is done: the collector's pace for serving
        await self._server.start(host_variable="SLACK_HOST")
        self._stack.push_async_callback(self._server.stop)
        if slack.socket_mode:
            await self._connect_socket(app, clients)

    async def stop(self) -> None:
        self._stopping_at = asyncio.get_running_loop().time()
        await super().stop()

    async def _close_surface(self) -> None:
        """Native streams' stops still queued (Tier 2's 429s) get what is left of the
        shutdown's budget, the drain's own (the grace, then the interrupted replies'
        finalising time): a shutdown takes no longer than before, and its leftovers are
        left to crash recovery (:meth:`SlackSurface.aclose`)."""
        within = 0.0
        if self._stopping_at is not None:  # else a failed start: nothing was queued
            budget = self.settings.shutdown_grace + self.bot.tasks.finalise_timeout
            within = max(0.0, self._stopping_at + budget - asyncio.get_running_loop().time())
        await self.surface.aclose(within)

    async def _connect_socket(self, app: AsyncApp, clients: SlackClients) -> None:
        token = secret_value(self.slack.app_token)
        assert token is not None
        # slack-sdk's connect() retries a refused token for ever: check it once ourselves.
        try:
            async with asyncio.timeout(clients.timeout):
                await clients.rare.apps_connections_open(app_token=token)
        except Exception as exc:
            error = translate(exc, method="apps.connections.open", scope=None)
            if isinstance(error, SlackError) and error.code is not None:
                raise ConfigError("SLACK_APP_TOKEN", f"Slack refused it ({error.code})") from None
            raise ConfigError("SLACK_API_URL", f"cannot open Socket Mode ({error})") from None
        # Imported here: HTTP mode (the tests', a load-balanced deployment's) never needs it.
        from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

        from bots.slack.socket_notices import watch_disconnects

        handler = AsyncSocketModeHandler(app, app_token=token, web_client=clients.rare)
        watch_disconnects(handler.client)
        self._stack.push_async_callback(self._close_socket, handler)
        try:
            async with asyncio.timeout(clients.timeout * 3):
                await handler.connect_async()  # type: ignore[no-untyped-call]
        except TimeoutError:
            raise ConfigError("SLACK_API_URL", "the Socket Mode connection timed out") from None
        self._socket = handler

    @staticmethod
    async def _close_socket(handler: AsyncSocketModeHandler) -> None:
        with contextlib.suppress(Exception):
            await handler.close_async()  # type: ignore[no-untyped-call]

    async def _connected(self) -> bool:
        """HTTP mode is connected once serving (Slack calls in); Socket Mode needs its
        websocket up."""
        if self._socket is None:
            return not self.slack.socket_mode
        return bool(await self._socket.client.is_connected())

    def _problems(self) -> dict[str, str]:
        """A token Slack refused while running: not ready, naming SLACK_BOT_TOKEN."""
        problem = self.surface.api.token_problem
        return {"slack": problem} if problem is not None else {}

    async def _health(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "ok": True,
            "mode": "socket" if self.slack.socket_mode else "http",
            "team": self.identity.team_id,
            "replies": len(self.bot.tasks),
        }
        if self._socket is not None:
            connected = await self._socket.client.is_connected()
            report["connected"] = report["ok"] = connected
        return report
