"""chat.postMessage, chat.update, chat.delete: messages the bot posts, edits and removes.

Modelled: ``channel_not_found``, ``is_archived`` / ``not_in_channel`` on posts and
``is_inactive`` on updates in an archived channel (see ``CallContext``), ``no_text``,
``thread_not_found`` (replying to a thread that does not exist), ``msg_too_long`` from
``chat.update`` past 40,000 characters (a posted text that long is truncated, as Slack
does), ``message_not_found`` and ``cant_update_message`` / ``cant_delete_message`` for
messages the bot did not post, ``invalid_blocks``, ``streaming_state_conflict`` (updating a
message that is still a native stream), ``edit_window_closed`` (updating a message older
than the workspace's edit window, ``SimConfig.message_edit_window``). ``chat.update`` keeps
the previous blocks when ``blocks`` is omitted and removes them for ``[]``, as documented;
``metadata`` likewise (``metadata.py``). A bot reply in a thread clears its status.
"""

from __future__ import annotations

from typing import Any

from bots.simulators.slack.blocks import validate_blocks
from bots.simulators.slack.context import CallContext, Change, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.metadata import apply_metadata, with_metadata
from bots.simulators.slack.model import Message, expire_if_due
from bots.simulators.slack.params import json_arg, str_arg

__all__ = ["METHODS", "bot_message_payload", "message_answer"]


def bot_message_payload(ctx: CallContext, message: Message) -> dict[str, Any]:
    """A bot message as the API returns it: with ``app_id`` and ``bot_profile``."""
    data = message.to_api()
    data["app_id"] = ctx.app.app_id
    data["bot_profile"] = {
        "id": ctx.ws.bot_id,
        "app_id": ctx.app.app_id,
        "name": ctx.app.bot_name,
        "team_id": ctx.ws.team_id,
        "deleted": False,
    }
    return data


def _content(ctx: CallContext) -> tuple[str | None, list[dict[str, Any]] | None]:
    text = str_arg(ctx.params, "text")
    markdown = str_arg(ctx.params, "markdown_text")
    if markdown is not None:
        if text is not None or ctx.params.get("blocks"):
            raise ApiError("markdown_text_conflict")
        if len(markdown) > ctx.config.max_markdown:
            raise ApiError("msg_too_long")
        text = markdown
    blocks = validate_blocks(json_arg(ctx.params, "blocks", error="invalid_blocks"), ctx.config)
    return text, blocks


def post_message(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.postable_channel()
    text, blocks = _content(ctx)
    if not text and not blocks and not json_arg(ctx.params, "attachments"):
        raise ApiError("no_text")
    parent_ts = ctx.reply_parent(channel)
    message = Message(
        ts=ctx.store.ts_clock.next(),
        channel=channel.id,
        team_id=ctx.ws.team_id,
        user=ctx.ws.bot_user_id,
        text=(text or "")[: ctx.config.max_text],
        blocks=blocks,
        thread_ts=parent_ts,
        bot_id=ctx.ws.bot_id,
        posted_at=ctx.now,
    )
    warning = apply_metadata(ctx.params, message)
    ctx.store.add_message(message)
    if parent_ts is not None:
        ctx.store.statuses.pop((channel.id, parent_ts), None)  # "cleared by the reply"
    ctx.changes.append(Change("posted", message))
    return message_answer(ctx, message, warning)


def message_answer(
    ctx: CallContext, message: Message, warning: str | None, **extra: Any
) -> dict[str, Any]:
    """The answer to a call that posted or changed ``message`` (chat.postMessage,
    chat.update, chat.stopStream): where it is, the message itself, any metadata warning."""
    answer = {
        "ok": True,
        "channel": message.channel,
        "ts": message.ts,
        **extra,
        "message": bot_message_payload(ctx, message),
    }
    return with_metadata(answer, warning)


def update(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.editable_channel()
    text, blocks = _content(ctx)
    if text is None and blocks is None and "attachments" not in ctx.params:
        raise ApiError("no_text")
    if text is not None and len(text) > ctx.config.max_text:
        raise ApiError("msg_too_long")
    message = ctx.bot_message(channel, str_arg(ctx.params, "ts") or "")
    expire_if_due(message, ctx.now, ctx.config.stream_idle_timeout, ctx.config.stream_max_lifetime)
    if message.streaming:
        # chat.update errors: "streaming_state_conflict: The message is currently streaming
        # text and cannot be edited" (docs.slack.dev reference/methods/chat.update).
        raise ApiError("streaming_state_conflict")
    _check_edit_window(ctx, message)
    if message.stream is not None and message.stream.expired:
        # The way back from a stream Slack expired: chat.update on its ts clears the broken
        # pill clients show (slackapi/python-slack-sdk PR #1880; ``Message.stream_failed``).
        message.stream.rewritten = True
    previous = message.to_api()
    warning = apply_metadata(ctx.params, message)
    if text is not None:
        message.text = text
    if "blocks" in ctx.params:
        message.blocks = blocks or None
    message.edited_ts = ctx.store.ts_clock.next()
    ctx.changes.append(Change("changed", message, previous))
    return message_answer(ctx, message, warning, text=message.text)


def _check_edit_window(ctx: CallContext, message: Message) -> None:
    """``edit_window_closed``: "The message cannot be edited due to the team message edit
    settings" (docs.slack.dev reference/methods/chat.update, Errors). A workspace admin may
    limit how long after posting a message can be edited; ``SimConfig.message_edit_window``
    sets it (None: any time; 0: never, the setting's strictest choice). Only chat.update is
    refused: chat.appendStream's documented errors do not list it."""
    window, posted = ctx.config.message_edit_window, message.posted_at
    if window is not None and posted is not None and (window == 0 or ctx.now - posted > window):
        raise ApiError("edit_window_closed")


def delete(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.channel()
    ts = str_arg(ctx.params, "ts") or ""
    message = ctx.store.get_message(channel.id, ts)
    if message is None:
        raise ApiError("message_not_found")
    if message.bot_id != ctx.ws.bot_id:
        raise ApiError("cant_delete_message")
    previous = message.to_api()
    message.deleted = True
    ctx.changes.append(Change("deleted", message, previous))
    return {"ok": True, "channel": channel.id, "ts": ts}


METHODS: dict[str, Handler] = {
    "chat.postMessage": post_message,
    "chat.update": update,
    "chat.delete": delete,
}
