"""auth.test, conversations.info/replies, users.info, assistant.threads.setStatus,
views.publish (the App Home tab) and apps.connections.open (the one method called with the
app-level ``xapp-`` token)."""

from __future__ import annotations

from typing import Any

from bots.simulators.slack.blocks import validate_blocks
from bots.simulators.slack.context import CallContext, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.params import json_arg, str_arg
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


def conversations_replies(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.channel()
    ts = str_arg(ctx.params, "ts") or ""
    parent_ts = ctx.store.thread_parent_ts(channel.id, ts)
    if parent_ts is None:
        raise ApiError("thread_not_found")
    messages = []
    for message in ctx.store.thread_messages(channel.id, parent_ts):
        data = message.to_api()
        if message.ts == parent_ts:
            data.update(ctx.store.reply_summary(channel.id, parent_ts))
        messages.append(data)
    return {"ok": True, "messages": messages, "has_more": False}


def users_info(ctx: CallContext) -> dict[str, Any]:
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
