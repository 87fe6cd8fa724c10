"""auth.test, conversations.info/replies (paged, scoped), users.info,
assistant.threads.setStatus, views.publish (the App Home tab) and apps.connections.open
(the one method called with the
app-level ``xapp-`` token)."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation
from typing import Any

from bots.simulators.slack.blocks import validate_blocks
from bots.simulators.slack.context import CallContext, Handler
from bots.simulators.slack.errors import ApiError, missing_scope
from bots.simulators.slack.model import Channel
from bots.simulators.slack.params import bool_arg, int_arg, json_arg, str_arg
from bots.simulators.slack.store import ThreadStatus

__all__ = ["METHODS"]


def auth_test(ctx: CallContext) -> dict[str, Any]:
    ws = ctx.ws
    return {
        "ok": True,
        "url": ws.url,
        "team": ws.name,
        "user": ctx.app.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def conversations_info(ctx: CallContext) -> dict[str, Any]:
    return {"ok": True, "channel": ctx.channel().to_api()}


HISTORY_SCOPES = {
    "public": "channels:history",
    "private": "groups:history",
    "im": "im:history",
    "mpim": "mpim:history",
}


def conversations_replies(ctx: CallContext) -> dict[str, Any]:
    """docs.slack.dev reference/methods/conversations.replies: ``channel`` and ``ts`` are
    required (``ts`` a thread's parent or any message of it; a message without replies
    returns just itself: ``thread_not_found`` when there is no such message); oldest
    first, the parent first; ``oldest`` / ``latest`` bound the range, exclusive unless
    ``inclusive``; ``limit`` (default 1000, see ``SimConfig.replies_max_limit``) per page,
    ``cursor`` from ``response_metadata.next_cursor`` while ``has_more`` (an unknown cursor
    is ``invalid_cursor``); message metadata only with ``include_all_metadata``. Scopes by
    conversation type: ``channels:history``,
    ``groups:history``, ``im:history``, ``mpim:history`` (the method's "Required scopes";
    the page says bot tokens cannot read channel threads, yet bots with these scopes do in
    practice, and the simulator follows the practice)."""
    channel = ctx.channel()
    _require(ctx, HISTORY_SCOPES[channel.kind])
    ts = str_arg(ctx.params, "ts") or ""
    parent_ts = ctx.store.thread_parent_ts(channel.id, ts)
    if parent_ts is None:
        raise ApiError("thread_not_found")
    inclusive = bool_arg(ctx.params, "inclusive")
    oldest = _ts_value(str_arg(ctx.params, "oldest") or "0")
    latest = _ts_value(str_arg(ctx.params, "latest"))
    after = _cursor_ts(str_arg(ctx.params, "cursor"))
    limit = int_arg(ctx.params, "limit") or ctx.config.replies_max_limit
    limit = max(1, min(limit, ctx.config.replies_max_limit))
    in_range = [
        m
        for m in ctx.store.thread_messages(channel.id, parent_ts)
        if _within(Decimal(m.ts), oldest, latest, inclusive)
        and (after is None or Decimal(m.ts) > after)
    ]
    page = in_range[:limit]
    more = len(in_range) > limit
    metadata = bool_arg(ctx.params, "include_all_metadata")  # see ``metadata.py``
    messages = [_with_summary(ctx, channel, m.to_api(metadata=metadata), parent_ts) for m in page]
    cursor = _cursor(page[-1].ts) if more and page else ""
    return {
        "ok": True,
        "messages": messages,
        "has_more": more,
        "response_metadata": {"next_cursor": cursor},
    }


def _require(ctx: CallContext, scope: str) -> None:
    if scope not in ctx.ws.scopes:
        raise missing_scope(scope, ctx.ws.scopes)


def _with_summary(
    ctx: CallContext, channel: Channel, data: dict[str, Any], parent_ts: str
) -> dict[str, Any]:
    if data.get("ts") == parent_ts:
        data.update(ctx.store.reply_summary(channel.id, parent_ts))
    return data


def _ts_value(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ApiError("invalid_ts_oldest" if value else "invalid_arguments") from None


def _within(ts: Decimal, oldest: Decimal | None, latest: Decimal | None, inclusive: bool) -> bool:
    if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
        return False
    return latest is None or ts < latest or (ts == latest and inclusive)


def _cursor(ts: str) -> str:
    """Opaque like Slack's (base64 text, e.g. "dXNlcjpVMDYxTkZUVDI=")."""
    return base64.b64encode(f"ts:{ts}".encode()).decode()


def _cursor_ts(cursor: str | None) -> Decimal | None:
    if not cursor:
        return None
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if not text.startswith("ts:"):
            raise ApiError("invalid_cursor")
        return Decimal(text.removeprefix("ts:"))
    except (binascii.Error, UnicodeDecodeError, InvalidOperation):
        raise ApiError("invalid_cursor") from None


def users_info(ctx: CallContext) -> dict[str, Any]:
    _require(ctx, "users:read")  # the method's required scope (docs.slack.dev users.info)
    user = ctx.store.users.get(str_arg(ctx.params, "user") or "")
    if user is None or user.team_id != ctx.ws.team_id:
        raise ApiError("user_not_found")
    return {"ok": True, "user": user.to_api()}


def set_status(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.channel("channel_id")
    thread_ts = str_arg(ctx.params, "thread_ts") or ""
    if ctx.store.get_message(channel.id, thread_ts) is None:
        raise ApiError("invalid_thread_ts")
    if "status" not in ctx.params:
        raise ApiError("invalid_arguments", detail="missing required argument: status")
    status = str(ctx.params["status"])
    loading = json_arg(ctx.params, "loading_messages") or []
    if not isinstance(loading, list) or len(loading) > ctx.config.max_loading_messages:
        raise ApiError("invalid_arguments", detail="loading_messages: at most 10 strings")
    key = (channel.id, thread_ts)
    if status:
        ctx.store.statuses[key] = ThreadStatus(status, [str(m) for m in loading], ctx.now)
    else:
        ctx.store.statuses.pop(key, None)
    ctx.store.status_log.append((ctx.now, channel.id, thread_ts, status))
    return {"ok": True}


def views_publish(ctx: CallContext) -> dict[str, Any]:
    """docs.slack.dev reference/methods/views.publish: ``user_id`` and ``view`` (JSON)
    required; ``not_enabled`` when a home view is published but the app's Home tab is off;
    the view's blocks are validated as a message's are."""
    user = ctx.store.users.get(str_arg(ctx.params, "user_id") or "")
    if user is None or user.team_id != ctx.ws.team_id:
        raise ApiError("invalid_arguments", detail="user_id: no such user")
    view = json_arg(ctx.params, "view", error="invalid_arguments")
    if not isinstance(view, dict) or view.get("type") != "home":
        raise ApiError("invalid_arguments", detail="view: a home view is required")
    if not ctx.config.home_tab_enabled:
        raise ApiError("not_enabled")
    validate_blocks(view.get("blocks") or [], ctx.config)
    ctx.store.home_views[(ctx.ws.team_id, user.id)] = view
    return {"ok": True, "view": {**view, "id": "V" + user.id}}


def connections_open(ctx: CallContext) -> dict[str, Any]:
    if ctx.workspace is not None:
        raise ApiError("not_allowed_token_type")  # needs the app-level token
    ws_base = ctx.base_url.replace("http://", "ws://", 1)
    ticket = ctx.issue_socket_ticket()
    return {"ok": True, "url": f"{ws_base}/link/?ticket={ticket}&app_id={ctx.app.app_id}"}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "conversations.info": conversations_info,
    "conversations.replies": conversations_replies,
    "users.info": users_info,
    "assistant.threads.setStatus": set_status,
    "apps.connections.open": connections_open,
    "views.publish": views_publish,
}
