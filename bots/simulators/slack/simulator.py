"""``SlackSimulator``: the server, its state, and what tests ask of it.

    async with SlackSimulator() as sim:
        client = AsyncWebClient(token=sim.workspace.bot_token, base_url=sim.api_url)
        ...
        assert [m.text for m in sim.thread_messages(channel, thread_ts)] == [...]

The user side (people posting, clicking, events delivered to the app) lives in
``UserActions``, what changes under a running bot (edits, archived channels, revoked
tokens, stopped streams, Slack Connect users) in ``WorkspaceChanges``; this class mixes
both in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from bots.simulators.slack.activity import Activity
from bots.simulators.slack.api_files import receive_upload
from bots.simulators.slack.api_stream import expire_if_due
from bots.simulators.slack.calls import AfterCall, AnswerLost, CallHook, CallRecord, Fault
from bots.simulators.slack.changes import WorkspaceChanges
from bots.simulators.slack.config import AppIdentity, SimConfig
from bots.simulators.slack.file_host import serve_private_file
from bots.simulators.slack.http_delivery import HttpDeliverer
from bots.simulators.slack.interactive import ResponseTarget
from bots.simulators.slack.model import Channel, ChannelKind, Message, User, Workspace
from bots.simulators.slack.outage import OutageKind
from bots.simulators.slack.ratelimit import RateRule
from bots.simulators.slack.seeding import seed_workspace
from bots.simulators.slack.socket_mode import SocketHub
from bots.simulators.slack.store import Store, ThreadStatus
from bots.simulators.slack.user_actions import UserActions
from bots.simulators.slack.webapi import WebApi
from bots.simulators.waiting import WAIT
from core.lifecycle import Lifecycle

__all__ = ["SlackSimulator"]


class SlackSimulator(UserActions, WorkspaceChanges, Lifecycle):
    def __init__(
        self,
        config: SimConfig | None = None,
        app: AppIdentity | None = None,
        *,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.config = config or SimConfig()
        self.app = app or AppIdentity()
        # Event-loop time by default, so tests under looptime run the limits in fake time.
        self.clock = clock or (lambda: asyncio.get_running_loop().time())
        self.store = Store()
        self.activity = Activity()
        self.workspace = seed_workspace(self.store, self.app)
        self.socket = SocketHub(
            app=self.app,
            ack_timeout=self.config.ack_timeout,
            retry_delays=self.config.socket_retry_delays,
            clock=self._now,
            activity=self.activity,
        )
        self.http = HttpDeliverer(
            signing_secret=self.app.signing_secret,
            ack_timeout=self.config.ack_timeout,
            retry_delays=self.config.http_retry_delays,
            clock=self._now,
            on_attempt=self.activity.notify,
        )
        self.api = WebApi(
            store=self.store,
            config=self.config,
            app=self.app,
            clock=self._now,
            issue_socket_ticket=self.socket.issue_ticket,
            on_changes=self._echo_changes,
            activity=self.activity,
        )
        self.events_url: str | None = None  # the app's Request URL (HTTP mode)
        self.base_url = ""
        self._runner: web.AppRunner | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self._response_targets: dict[str, ResponseTarget] = {}

    def _now(self) -> float:
        return self.clock()

    # -- lifecycle ----------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """The Web API base URL to give slack-sdk (``base_url``); ends in ``/api/``."""
        return f"{self.base_url}/api/"

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/api/{method}", self.api.handle)
        app.router.add_post("/upload/v1/{file_id}", self._upload)
        app.router.add_get("/link/", self.socket.handle)
        app.router.add_post("/actions/{token}", self._response_url)
        app.router.add_get("/files-pri/{key}/{filename}", self._private_file)
        # Short shutdown grace: a test's leftover keep-alive connection must not stall it.
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = self.api.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Close everything. Close the app's Socket Mode client first: once its socket is
        closed it would try to reconnect to a simulator that is going away."""
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
        await self.socket.close()
        await self.http.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _upload(self, request: web.Request) -> web.Response:
        """The upload URL (``api_files.receive_upload``): a fault a test injected for
        ``"upload"`` is answered instead; an ``after_call("upload", ...)`` hook runs once
        the bytes are kept (``AnswerLost``: the connection breaks, never answered)."""
        file_id = request.match_info["file_id"]
        # Not a Web API method: a fault for "*" is not for it.
        fault = self.api.faults.take("upload", {"file_id": file_id}, wildcard=False)
        if fault is not None and fault.status == 200:
            fault.status = 500  # a failure here is a non-200 answer (see api_files)
        response = await receive_upload(self.store, request, fault)
        record = CallRecord("upload", {"file_id": file_id}, self._now(), None, response.status)
        record.response = {"ok": response.status == 200}
        if fault is not None:
            record.response["error"] = fault.error
        self.api.record(record)
        try:
            await self.api.after.run(record)
        except AnswerLost:
            if request.transport is not None:
                request.transport.close()  # kept, never answered (see AnswerLost)
        return response

    async def _private_file(self, request: web.Request) -> web.Response:
        response = serve_private_file(self.store, request)
        record = CallRecord("files-pri", {"path": request.path}, self._now(), None,
                            response.status)  # fmt: skip
        record.response = {"ok": response.status == 200}
        self.api.record(record)
        return response

    # -- setup --------------------------------------------------------------------------
    @property
    def workspaces(self) -> Mapping[str, Workspace]:
        return self.store.workspaces

    def add_workspace(self, name: str | None = None) -> Workspace:
        return seed_workspace(self.store, self.app, name)

    def add_user(self, team_id: str, name: str, *, bot_id: str | None = None) -> User:
        user_id = self.store.ids.next("U")
        user = User(user_id, team_id, name, name.title(), is_bot=bot_id is not None, bot_id=bot_id)
        return self.store.add_user(user)

    def add_channel(
        self, team_id: str, name: str, kind: ChannelKind = "public", *, im_user: str | None = None
    ) -> Channel:
        prefix = {"public": "C", "private": "G", "im": "D", "mpim": "G"}[kind]
        channel_id = self.store.ids.next(prefix)
        return self.store.add_channel(team_id, channel_id, name, kind, im_user)

    def remove_scope(self, scope: str, team_id: str | None = None) -> None:
        """The bot token loses ``scope`` (the app was installed without it)."""
        ws = self.store.workspaces[team_id] if team_id else self.workspace
        ws.scopes.discard(scope)

    def set_rate_limit(self, method: str, *rules: RateRule) -> None:
        """Replace a method's limits (no rules: unlimited)."""
        self.api.limiter.set_rules(method, tuple(rules))

    def disable_rate_limits(self) -> None:
        for method in list(self.api.limiter.rules):
            self.api.limiter.set_rules(method, ())

    def set_latency(self, method: str, seconds: float) -> None:
        """Make ``method`` ("*" for all) take ``seconds`` to answer."""
        self.config.latency[method] = seconds

    def fail_next(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        status: int = 200,
        retry_after: int | None = None,
        match: Callable[[Mapping[str, Any]], bool] | None = None,
        html: bool = False,
    ) -> Fault:
        """The next ``times`` calls of ``method`` ("*": any) answer ``error``.

        ``error="ratelimited"`` answers 429 with ``Retry-After`` (default 1);
        ``"rate_limited"`` is chat.postMessage's "Application has posted too many messages"
        (HTTP 200, no Retry-After: docs.slack.dev reference/methods/chat.postMessage).
        ``status=500`` and the like model server failures (``"internal_error"``,
        ``"fatal_error"``, ``"service_unavailable"``: docs.slack.dev reference/methods/
        chat.update errors); ``html=True`` answers a gateway's HTML page instead of JSON.
        ``method="upload"``: the upload URL's POST answers ``status`` (500 if left at 200)
        with ``error`` as its text/plain body (see ``api_files``); "*" is not for it.
        """
        fault = Fault(method, error, times, status, retry_after, match, html)
        return self.api.faults.add(fault)

    def clear_faults(self) -> None:
        """Faults not consumed yet are dropped: Slack answers normally again."""
        self.api.faults.clear()

    def after_call(
        self,
        method: str,
        hook: CallHook,
        *,
        match: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> AfterCall:
        """Await ``hook(record)`` once, when the next call of ``method`` (that ``match``)
        has been applied and before it is answered: e.g. kill the bot between Slack
        posting its message and the bot learning the message's ``ts`` (see ``AfterCall``)."""
        after = AfterCall(method, hook, match)
        self.api.after.add(after)
        return after

    def start_outage(self, kind: OutageKind = "5xx") -> None:
        """Slack goes down: every Web API call answers a gateway's 503 page (``"5xx"``) or
        nothing until the outage ends (``"unreachable"``); see ``outage.py``."""
        self.api.outage.start(kind)

    def end_outage(self) -> None:
        self.api.outage.end()

    # -- what happened ------------------------------------------------------------------
    def calls(
        self, method: str | None = None, *, team_id: str | None = None, ok: bool | None = None
    ) -> list[CallRecord]:
        return [
            c
            for c in self.api.calls
            if (method is None or c.method == method)
            and (team_id is None or c.team_id == team_id)
            and (ok is None or c.ok == ok)
        ]

    def message(self, channel: str, ts: str) -> Message | None:
        message = self.store.get_message(channel, ts)
        if message is not None:
            cfg = self.config
            expire_if_due(message, self._now(), cfg.stream_idle_timeout, cfg.stream_max_lifetime)
        return message

    def thread_messages(self, channel: str, thread_ts: str) -> list[Message]:
        """What a user sees in the thread: parent first, then replies, oldest first."""
        return self.store.thread_messages(channel, thread_ts)

    def bot_replies(
        self, channel: str, thread_ts: str, team_id: str | None = None
    ) -> list[Message]:
        """The app's own messages in a thread (excluding the parent)."""
        ws = self.store.workspaces[team_id] if team_id else self.workspace
        return [
            m
            for m in self.thread_messages(channel, thread_ts)
            if m.bot_id == ws.bot_id and m.ts != thread_ts
        ]

    def channel_messages(self, channel: str) -> list[Message]:
        return self.store.channel_messages(channel)

    def thread_status(self, channel: str, thread_ts: str) -> ThreadStatus | None:
        """The thread's current status, gone two minutes after it was set."""
        status = self.store.statuses.get((channel, thread_ts))
        if status is not None and self._now() - status.set_at > self.config.status_timeout:
            return None
        return status

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = WAIT) -> None:  # noqa: ASYNC109
        """Until ``predicate()`` holds, re-checked on every call, event and ack."""
        await self.activity.until(predicate, timeout)

    async def wait_for_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = WAIT,  # noqa: ASYNC109
    ) -> list[CallRecord]:
        """Until ``method`` was called ``count`` times; all its calls so far."""
        await self.activity.until(lambda: len(self.calls(method)) >= count, timeout)
        return self.calls(method)
