"""The ``/api/{method}`` endpoint: one Slack Web API call, start to finish.

In the order Slack applies them: unknown method -> token (``not_authed``,
``invalid_auth``, ``not_allowed_token_type``) -> injected faults -> rate limits (429 with
``Retry-After`` and ``{"ok": false, "error": "ratelimited"}``) -> the method itself. Answers
are HTTP 200 with ``ok`` true or false, like Slack's; every call is recorded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bots.simulators.after_calls import AfterCalls
from bots.simulators.slack import (
    api_assistant,
    api_chat,
    api_ephemeral,
    api_files,
    api_misc,
    api_stream,
    api_views,
)
from bots.simulators.slack.activity import Activity
from bots.simulators.slack.calls import AnswerLost, CallRecord, FaultInjector
from bots.simulators.slack.config import AppIdentity, SimConfig
from bots.simulators.slack.context import CallContext, Change, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.model import Workspace
from bots.simulators.slack.outage import Outage
from bots.simulators.slack.params import read_params
from bots.simulators.slack.ratelimit import RateLimiter
from bots.simulators.slack.store import Store

__all__ = ["HANDLERS", "WebApi"]

HANDLERS: dict[str, Handler] = {
    **api_chat.METHODS,
    **api_ephemeral.METHODS,
    **api_stream.METHODS,
    **api_files.METHODS,
    **api_misc.METHODS,
    **api_assistant.METHODS,
    **api_views.METHODS,
}
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

ChangeListener = Callable[[Workspace, list[Change]], None]


class WebApi:
    def __init__(
        self,
        *,
        store: Store,
        config: SimConfig,
        app: AppIdentity,
        clock: Callable[[], float],
        issue_socket_ticket: Callable[[], str],
        on_changes: ChangeListener,
        activity: Activity,
    ) -> None:
        self.store = store
        self.config = config
        self.app = app
        self.clock = clock
        self.limiter = RateLimiter(config.rate_rules, clock)
        self.faults = FaultInjector()
        self.outage = Outage()
        self.calls: list[CallRecord] = []
        self.after: AfterCalls[CallRecord] = AfterCalls()  # one-shot hooks (sim.after_call)
        self.base_url = ""
        self._issue_ticket = issue_socket_ticket
        self._on_changes = on_changes
        self._activity = activity

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        record = CallRecord(method=method, params={}, time=self.clock(), team_id=None)
        if self.outage.active:
            return await self._down(request, record)
        try:
            params, token = await read_params(request)
            record.params = params
            await self._delay(method)
            body = self._call(method, params, token, record)
        except ApiError as exc:
            record.status, record.retry_after, body = exc.status, exc.retry_after, exc.body()
            if exc.html:
                # A gateway's error page instead of Slack's JSON (a 502/503 from the edge):
                # slack-sdk finds no ``error`` to read (slack_sdk/web/async_internal_utils.py
                # treats a non-JSON body as empty data and raises SlackApiError on the status).
                record.response = body
                self.record(record)
                page = f"<html><body><h1>{exc.status} {exc.error}</h1></body></html>"
                return web.Response(status=exc.status, text=page, content_type="text/html")
        record.response = body
        self.record(record)
        try:
            await self.after.run(record)
        except AnswerLost:
            if request.transport is not None:
                request.transport.close()  # applied, never answered (see AnswerLost)
        headers = {"Retry-After": str(record.retry_after)} if record.retry_after else None
        return web.json_response(body, status=record.status, headers=headers)

    async def _down(self, request: web.Request, record: CallRecord) -> web.Response:
        """Slack is down (see :mod:`bots.simulators.slack.outage`)."""
        record.params, _ = await read_params(request)
        record.status, record.response = 503, {"ok": False, "error": "service_unavailable"}
        self.record(record)
        if self.outage.kind == "unreachable":
            await self.outage.hold()
        page = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return web.Response(status=503, text=page, content_type="text/html")

    def record(self, record: CallRecord) -> None:
        self.calls.append(record)
        self._activity.notify()

    async def _delay(self, method: str) -> None:
        latency = self.config.latency.get(method, self.config.latency.get("*", 0.0))
        if latency > 0:
            await asyncio.sleep(latency)

    def _call(
        self, method: str, params: dict[str, Any], token: str | None, record: CallRecord
    ) -> dict[str, Any]:
        handler = HANDLERS.get(method)
        if handler is None:
            raise ApiError("unknown_method")
        workspace = self._authenticate(method, token)
        record.team_id = workspace.team_id if workspace else None
        fault = self.faults.take(method, params)
        if fault is not None:
            status = 429 if fault.error == "ratelimited" and fault.status == 200 else fault.status
            retry_after = fault.retry_after or (1 if status == 429 else None)
            raise ApiError(fault.error, status=status, retry_after=retry_after, html=fault.html)
        channel = params.get("channel") or params.get("channel_id")
        scope_team = record.team_id or self.app.app_id
        wait = self.limiter.acquire(method, scope_team, str(channel) if channel else None)
        if wait is not None:
            raise ApiError("ratelimited", status=429, retry_after=wait)
        assert token is not None
        ctx = CallContext(
            method=method,
            params=params,
            token=token,
            workspace=workspace,
            store=self.store,
            config=self.config,
            app=self.app,
            now=self.clock(),
            base_url=self.base_url,
            issue_socket_ticket=self._issue_ticket,
        )
        body = handler(ctx)
        if ctx.changes and workspace is not None:
            self._on_changes(workspace, ctx.changes)
        return body

    def _authenticate(self, method: str, token: str | None) -> Workspace | None:
        if not token:
            raise ApiError("not_authed")
        if token == self.app.app_token:
            if method not in APP_TOKEN_METHODS:
                raise ApiError("not_allowed_token_type")
            return None
        revoked = self.store.revoked_tokens.get(token)
        if revoked is not None:
            # A token that stopped working mid-run: docs.slack.dev reference/methods/
            # chat.postMessage errors "token_revoked" (app removed), "account_inactive"
            # (deleted user or workspace), "invalid_auth"; every method answers it, HTTP 200.
            raise ApiError(revoked)
        team_id = self.store.bot_tokens.get(token)
        if team_id is None:
            raise ApiError("invalid_auth")
        if method in APP_TOKEN_METHODS:
            raise ApiError("not_allowed_token_type")
        return self.store.workspaces[team_id]
