"""Native streaming: chat.startStream, chat.appendStream, chat.stopStream.

A stream is a bot message whose text grows by ``markdown_text`` appends (at most 12,000
characters per call, else ``msg_too_long``; there is no cumulative cap). Outside DMs,
``recipient_team_id`` and ``recipient_user_id`` are required (``missing_recipient_team_id``
/ ``missing_recipient_user_id``). A stream ends when stopped, when idle longer than
``SimConfig.stream_idle_timeout``, or ``stream_max_lifetime`` after it started; after that
every append or stop answers ``message_not_in_streaming_state`` while the text streamed so
far stays visible, and ``chat.update`` on the same ``ts`` still works.
"""

from __future__ import annotations

from typing import Any

from tests.simulators.slack.api_chat import bot_message_payload
from tests.simulators.slack.blocks import validate_blocks
from tests.simulators.slack.context import CallContext, Change, Handler
from tests.simulators.slack.errors import ApiError
from tests.simulators.slack.model import Message, StreamState
from tests.simulators.slack.params import json_arg, str_arg

__all__ = ["METHODS", "expire_if_due"]


def expire_if_due(message: Message, now: float, idle: float, lifetime: float) -> None:
    stream = message.stream
    if stream is None or stream.stopped or stream.expired:
        return
    if now - stream.last_activity > idle or now - stream.started_at > lifetime:
        stream.expired = True


def _markdown(ctx: CallContext) -> str:
    """This call's text: ``markdown_text`` plus the text of ``markdown_text`` chunks."""
    parts: list[str] = []
    markdown = str_arg(ctx.params, "markdown_text")
    if markdown is not None:
        parts.append(markdown)
    chunks = json_arg(ctx.params, "chunks", error="invalid_chunks")
    if chunks is not None:
        if not isinstance(chunks, list) or not all(isinstance(c, dict) for c in chunks):
            raise ApiError("invalid_chunks")
        parts += [str(c.get("text", "")) for c in chunks if c.get("type") == "markdown_text"]
    text = "".join(parts)
    if len(text) > ctx.config.max_markdown:
        raise ApiError("msg_too_long")
    return text


def _streaming_message(ctx: CallContext) -> Message:
    channel = ctx.channel()
    message = ctx.bot_message(channel, str_arg(ctx.params, "ts") or "")
    expire_if_due(message, ctx.now, ctx.config.stream_idle_timeout, ctx.config.stream_max_lifetime)
    if not message.streaming:
        raise ApiError("message_not_in_streaming_state")
    return message


def start_stream(ctx: CallContext) -> dict[str, Any]:
    channel = ctx.channel()
    thread_ts = str_arg(ctx.params, "thread_ts")
    parent_ts = None
    if thread_ts is not None:
        parent_ts = ctx.store.thread_parent_ts(channel.id, thread_ts)
        if parent_ts is None:
            raise ApiError("thread_not_found")
    recipient = str_arg(ctx.params, "recipient_user_id")
    if channel.kind != "im":
        if str_arg(ctx.params, "recipient_team_id") is None:
            raise ApiError("missing_recipient_team_id")
        if recipient is None:
            raise ApiError("missing_recipient_user_id")
    text = _markdown(ctx)
    message = Message(
        ts=ctx.store.ts_clock.next(),
        channel=channel.id,
        team_id=ctx.ws.team_id,
        user=ctx.ws.bot_user_id,
        thread_ts=parent_ts,
        bot_id=ctx.ws.bot_id,
        stream=StreamState(started_at=ctx.now, last_activity=ctx.now, recipient_user_id=recipient),
    )
    message.append_text(text)
    ctx.store.add_message(message)
    if parent_ts is not None:
        ctx.store.statuses.pop((channel.id, parent_ts), None)
    ctx.changes.append(Change("posted", message))
    return {"ok": True, "channel": channel.id, "ts": message.ts}


def append_stream(ctx: CallContext) -> dict[str, Any]:
    message = _streaming_message(ctx)
    if "markdown_text" not in ctx.params and "chunks" not in ctx.params:
        raise ApiError("invalid_arguments", detail="missing required argument: markdown_text")
    message.append_text(_markdown(ctx))
    assert message.stream is not None
    message.stream.last_activity = ctx.now
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def stop_stream(ctx: CallContext) -> dict[str, Any]:
    message = _streaming_message(ctx)
    previous = message.to_api()
    message.append_text(_markdown(ctx))
    blocks = validate_blocks(json_arg(ctx.params, "blocks", error="invalid_blocks"), ctx.config)
    if blocks is not None:
        message.blocks = blocks
    assert message.stream is not None
    message.stream.stopped = True
    ctx.changes.append(Change("changed", message, previous))
    return {
        "ok": True,
        "channel": message.channel,
        "ts": message.ts,
        "message": bot_message_payload(ctx, message),
    }


METHODS: dict[str, Handler] = {
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
