"""Native streaming: chat.startStream, chat.appendStream, chat.stopStream.

A stream is a bot message whose text grows by ``markdown_text`` appends (at most 12,000
characters per call, else ``msg_too_long``; and at most 12,000 in all, see
:func:`_check_total`). Outside DMs,
``recipient_team_id`` and ``recipient_user_id`` are required (``missing_recipient_team_id``
/ ``missing_recipient_user_id``), and a ``recipient_user_id`` that is not a user's id (a bot's
``B…``) is refused as ``invalid_arguments``. A stream ends when stopped, when idle longer than
``SimConfig.stream_idle_timeout``, or ``stream_max_lifetime`` after it started; after that
every append or stop answers ``message_not_in_streaming_state`` while the text streamed so
far stays visible, and ``chat.update`` on the same ``ts`` still works (while it streams,
``chat.update`` answers ``streaming_state_conflict``). A stream that expired, rather than
being stopped, shows as broken until a ``chat.update`` rewrites it
(``Message.stream_failed``, after slackapi/python-slack-sdk PR #1880). A person may stop a stream
(``sim.user_stops_stream``): appends then answer ``stopped_by_user``. Channels where the
app may not stream answer ``channel_type_not_supported``; archived channels and channels
the bot left answer like ``chat.postMessage`` (``is_archived``, ``not_in_channel``).

``chat.stopStream`` takes ``metadata`` (``metadata.py``), kept on the message. Once a stream
has ended, nothing else on the message says how: a stop, an expiry and a person's stop look
alike to ``conversations.replies``, and a later stop answers
``message_not_in_streaming_state`` in every case (slack-sdk's ``AsyncChatStream`` knows its
own stream's state only locally: its ``stop`` refuses a stream it completed itself). What
a reader can tell apart is metadata the stopping call left.
"""

from __future__ import annotations

import re
from typing import Any

from bots.simulators.slack.api_chat import message_answer
from bots.simulators.slack.blocks import validate_blocks
from bots.simulators.slack.context import CallContext, Change, Handler
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.metadata import apply_metadata
from bots.simulators.slack.model import Channel, Message, StreamState, expire_if_due
from bots.simulators.slack.params import json_arg, str_arg

__all__ = ["METHODS", "expire_if_due"]


def _markdown(ctx: CallContext) -> str:
    """This call's text: ``markdown_text`` or the text of ``markdown_text`` chunks.

    chat.appendStream / stopStream errors: "cannot_provide_both_markdown_text_and_chunks:
    Cannot provide both `markdown_text` and `chunks` in the same request" (docs.slack.dev
    reference/methods/chat.appendStream; the slack_kit package's copy of its JSON)."""
    if "markdown_text" in ctx.params and "chunks" in ctx.params:
        raise ApiError("cannot_provide_both_markdown_text_and_chunks")
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


def _check_total(ctx: CallContext, message: Message, markdown: str) -> None:
    """A streamed message holds at most ``SimConfig.max_markdown`` characters in all: past
    it every append (and a stop carrying more text) answers ``msg_too_long``. Slack
    documents only the 12,000 per call; the total cap is observed: "Once a reply crossed
    that ceiling, every further chat.appendStream was rejected msg_too_long —
    deterministically" ("11,977 of 15,668 chars posted": CopilotKit/CopilotKit issue #6063
    and PR #6244), and "Slack returned msg_too_long on chat.stopStream even though the
    final answer text was short" (vercel/chat PR #617). The message keeps what it had."""
    if markdown and len(message.text) + len(markdown) > ctx.config.max_markdown:
        raise ApiError("msg_too_long")


def _streamable_channel(ctx: CallContext) -> Channel:
    channel = ctx.postable_channel()
    if not channel.streams_supported:
        # chat.startStream / appendStream / stopStream errors: "channel_type_not_supported:
        # Channel type not supported" (which types is not documented: a per-channel switch).
        raise ApiError("channel_type_not_supported")
    return channel


def _streaming_message(ctx: CallContext, *, appending: bool = False) -> Message:
    channel = _streamable_channel(ctx)
    message = ctx.store.get_message(channel.id, str_arg(ctx.params, "ts") or "")
    if message is None:
        raise ApiError("message_not_found")
    if message.bot_id != ctx.ws.bot_id:
        # chat.appendStream / stopStream errors: "message_not_owned_by_app: The message is
        # not owned by the app" (where chat.update says cant_update_message).
        raise ApiError("message_not_owned_by_app")
    expire_if_due(message, ctx.now, ctx.config.stream_idle_timeout, ctx.config.stream_max_lifetime)
    if appending and message.stream is not None and message.stream.stopped_by_user:
        # chat.appendStream errors: "stopped_by_user: The streaming message was stopped by
        # the user and no further appends are accepted" (docs.slack.dev
        # reference/methods/chat.appendStream; mirrored in slack_kit's generated docs).
        raise ApiError("stopped_by_user")
    if not message.streaming:
        # Stopped, expired or stopped by a person alike: the code Slack answers an append or
        # a stop once a stream has ended (Slack's own error lists name it; other clients
        # meet it after a stream's ~5-minute lifetime and treat it as "no further appends
        # or stop will ever succeed"). It says nothing of how the stream ended.
        raise ApiError("message_not_in_streaming_state")
    return message


def _check_recipient(ctx: CallContext, recipient: str | None) -> None:
    """Outside DMs both recipient arguments are required; ``recipient_team_id`` is "the
    encoded ID of the team the user receiving the streaming text belongs to"
    (docs.slack.dev reference/methods/chat.startStream) — in a Slack Connect channel the
    asking user's own organisation, not the workspace that received the event. Slack does
    not document the error for a mismatch: the simulator refuses it as invalid_arguments."""
    team = str_arg(ctx.params, "recipient_team_id")
    if team is None:
        raise ApiError("missing_recipient_team_id")
    if recipient is None:
        raise ApiError("missing_recipient_user_id")
    user = ctx.store.users.get(recipient)
    if user is not None and user.team_id != team:
        detail = f"recipient_team_id {team} is not the team of {recipient} ({user.team_id})"
        raise ApiError("invalid_arguments", detail=detail)


# recipient_user_id is "the encoded ID of the user to receive the streaming text"
# (docs.slack.dev reference/methods/chat.startStream): a user's id, U… or W…. Slack checks
# the argument's form before anything else and refuses any other id, a bot's B… included, as
# "invalid_arguments: input must match regex pattern: ^[UW][A-Z0-9]{2,}$
# [json-pointer:/recipient_user_id]" (as reported in paradigmxyz/centaur issue #1601, for
# replies to bot-authored messages; the method's documented error list does not say).
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def _check_recipient_form(recipient: str | None) -> None:
    if recipient is not None and not _USER_ID.fullmatch(recipient):
        pattern = f"^{_USER_ID.pattern}$"
        detail = f"input must match regex pattern: {pattern} [json-pointer:/recipient_user_id]"
        raise ApiError("invalid_arguments", detail=detail)


def start_stream(ctx: CallContext) -> dict[str, Any]:
    recipient = str_arg(ctx.params, "recipient_user_id")
    _check_recipient_form(recipient)
    channel = _streamable_channel(ctx)
    parent_ts = ctx.reply_parent(channel)
    if channel.kind != "im":
        _check_recipient(ctx, recipient)
    text = _markdown(ctx)
    message = Message(
        ts=ctx.store.ts_clock.next(),
        channel=channel.id,
        team_id=ctx.ws.team_id,
        user=ctx.ws.bot_user_id,
        thread_ts=parent_ts,
        bot_id=ctx.ws.bot_id,
        stream=StreamState(started_at=ctx.now, last_activity=ctx.now, recipient_user_id=recipient),
        posted_at=ctx.now,
    )
    message.append_text(text)
    ctx.store.add_message(message)
    if parent_ts is not None:
        ctx.store.statuses.pop((channel.id, parent_ts), None)
    ctx.changes.append(Change("posted", message))
    return {"ok": True, "channel": channel.id, "ts": message.ts}


def append_stream(ctx: CallContext) -> dict[str, Any]:
    message = _streaming_message(ctx, appending=True)
    if "markdown_text" not in ctx.params and "chunks" not in ctx.params:
        # chat.appendStream errors: "markdown_text_or_chunks_required: One of
        # 'markdown_text' or 'chunks' is required".
        raise ApiError("markdown_text_or_chunks_required")
    markdown = _markdown(ctx)
    _check_total(ctx, message, markdown)
    message.append_text(markdown)
    assert message.stream is not None
    message.stream.last_activity = ctx.now
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def stop_stream(ctx: CallContext) -> dict[str, Any]:
    message = _streaming_message(ctx)
    previous = message.to_api()
    markdown = _markdown(ctx)
    _check_total(ctx, message, markdown)
    # blocks: "A list of blocks that will be rendered at the bottom of the finalized message"
    # (docs.slack.dev reference/methods/chat.stopStream): the streamed text stays the text.
    blocks = validate_blocks(json_arg(ctx.params, "blocks", error="invalid_blocks"), ctx.config)
    warning = apply_metadata(ctx.params, message)  # before any change: it may refuse the call
    message.append_text(markdown)
    if blocks is not None:
        message.blocks = blocks
    assert message.stream is not None
    message.stream.stopped = True
    ctx.changes.append(Change("changed", message, previous))
    return message_answer(ctx, message, warning)


METHODS: dict[str, Handler] = {
    "chat.startStream": start_stream,
    "chat.appendStream": append_stream,
    "chat.stopStream": stop_stream,
}
