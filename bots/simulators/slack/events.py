"""Builders for the Events API payloads Slack sends, shaped like the real ones.

``app_mention`` carries no ``channel_type``; ``message`` events do (``channel``, ``group``,
``im``, ``mpim``). A reply carries ``thread_ts`` (and ``parent_user_id``); a top-level
message does not. Edits arrive as ``message`` with subtype ``message_changed`` (the new
message under ``message``, the old under ``previous_message``), deletions as
``message_deleted``. ``event_callback`` wraps any event in the envelope delivered over HTTP
and inside Socket Mode's ``events_api`` envelopes.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from bots.simulators.slack.config import AppIdentity
from bots.simulators.slack.model import Channel, Message, Workspace

__all__ = [
    "app_mention_event",
    "event_callback",
    "message_changed_event",
    "message_deleted_event",
    "message_event",
    "rich_text_blocks",
    "typed",
    "url_verification",
]

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def typed(text: str) -> str:
    """A message's ``text`` as Slack sends it when a person typed ``text`` (literally, no
    mentions or links): ``&``, ``<`` and ``>`` arrive as ``&amp;``, ``&lt;`` and ``&gt;``,
    as Slack uses them as control characters ("Formatting text for app surfaces",
    api.slack.com/reference/surfaces/formatting, "Escaping text": "These instructions are
    also handy if you are retrieving messages"). Build a message with markup as
    ``f"<@{bot}> {typed('a < b')}"``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _unescaped(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The ``rich_text`` block Slack clients attach to what a user typed (the composer's
    own output, docs.slack.dev reference/block-kit/blocks/rich-text-block): its ``text``
    elements carry the characters as typed, not escaped as in the message's ``text``."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": _unescaped(text[position : match.start()])})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": _unescaped(text[position:])})
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": uuid.uuid4().hex[:5], "elements": [section]}]


def _base(message: Message) -> dict[str, Any]:
    event: dict[str, Any] = {
        "user": message.user,
        "text": message.text,
        "ts": message.ts,
        "team": message.team_id,
        "channel": message.channel,
        "event_ts": message.ts,
    }
    if message.bot_id:
        event["bot_id"] = message.bot_id
        event["blocks"] = message.blocks or []
    else:
        event["client_msg_id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, message.channel + message.ts))
        event["blocks"] = message.blocks if message.blocks is not None else []
    if message.is_reply:
        event["thread_ts"] = message.thread_ts
    if message.user_team is not None:
        # Slack Connect: the author belongs to another organisation (node-slack-sdk
        # packages/types/src/events/app.ts, AppMentionEvent.user_team / source_team).
        event["user_team"] = event["source_team"] = message.user_team
    if message.files:
        event["files"] = [f.to_api() for f in message.files]
    return event


def app_mention_event(message: Message, parent_user: str | None = None) -> dict[str, Any]:
    event = {"type": "app_mention", **_base(message)}
    if message.is_reply and parent_user:
        event["parent_user_id"] = parent_user
    if message.edited_ts:
        # Sent again after an edit: same ts, an ``edited`` field, no subtype (see
        # ``WorkspaceChanges.user_edits`` for the sources).
        event["edited"] = {"user": message.user, "ts": message.edited_ts}
    return event


def message_event(
    message: Message, channel: Channel, parent_user: str | None = None
) -> dict[str, Any]:
    event = {"type": "message", **_base(message), "channel_type": channel.channel_type}
    if message.subtype:
        event["subtype"] = message.subtype
    if message.is_reply and parent_user:
        event["parent_user_id"] = parent_user
    return event


def message_changed_event(
    message: Message, channel: Channel, previous: dict[str, Any], event_ts: str
) -> dict[str, Any]:
    return _hidden_change("message_changed", channel, previous, event_ts, message=message.to_api())


def message_deleted_event(
    message: Message, channel: Channel, previous: dict[str, Any], event_ts: str
) -> dict[str, Any]:
    return _hidden_change("message_deleted", channel, previous, event_ts, deleted_ts=message.ts)


def _hidden_change(
    subtype: str, channel: Channel, previous: dict[str, Any], event_ts: str, **what: Any
) -> dict[str, Any]:
    """A ``hidden`` message event about an existing message: what both kinds share."""
    return {
        "type": "message",
        "subtype": subtype,
        "hidden": True,
        **what,
        "previous_message": previous,
        "channel": channel.id,
        "channel_type": channel.channel_type,
        "ts": event_ts,
        "event_ts": event_ts,
    }


def event_callback(
    event: dict[str, Any], *, workspace: Workspace, app: AppIdentity, event_id: str
) -> dict[str, Any]:
    """The Events API envelope around one event."""
    event_time = int(float(event.get("event_ts") or event.get("ts") or 0))
    return {
        "token": app.verification_token,
        "team_id": workspace.team_id,
        "context_team_id": workspace.team_id,
        "context_enterprise_id": None,
        "api_app_id": app.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": workspace.team_id,
                "user_id": workspace.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{uuid.uuid4().hex}",
    }


def url_verification(challenge: str, app: AppIdentity) -> dict[str, Any]:
    return {"token": app.verification_token, "challenge": challenge, "type": "url_verification"}
