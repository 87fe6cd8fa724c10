"""Interactivity: a user clicking a button, and the ``response_url`` the app may answer on.

``block_actions_payload`` builds what Slack sends when a button of a stored message is
clicked (HTTP: form field ``payload=<json>``; Socket Mode: an ``interactive`` envelope).
Only buttons present in the message's current blocks can be clicked. A POST to the
``response_url`` may ``replace_original``, ``delete_original`` or post a new message
(``response_type: in_channel``; anything else is ephemeral, kept aside).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from bots.simulators.slack.config import AppIdentity
from bots.simulators.slack.model import Channel, Message, User, Workspace
from bots.simulators.slack.store import Store

__all__ = ["ResponseTarget", "apply_response", "block_actions_payload"]


@dataclass(frozen=True)
class ResponseTarget:
    """What a ``response_url`` refers to: the message the click happened on."""

    team_id: str
    channel: str
    message_ts: str


def block_actions_payload(
    *,
    workspace: Workspace,
    app: AppIdentity,
    user: User,
    channel: Channel,
    message: Message,
    action: dict[str, Any],
    response_url: str,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message.ts,
        "channel_id": channel.id,
        "is_ephemeral": False,
    }
    if message.thread_ts:
        container["thread_ts"] = message.thread_ts
    clicked = {
        "type": action.get("type", "button"),
        "action_id": action["action_id"],
        "block_id": action.get("block_id", ""),
        "text": action.get("text"),
        "value": action.get("value"),
        "action_ts": f"{time.time():.6f}",
    }
    if "style" in action:
        clicked["style"] = action["style"]
    return {
        "type": "block_actions",
        "user": {"id": user.id, "username": user.name, "name": user.name, "team_id": user.team_id},
        "api_app_id": app.app_id,
        "token": app.verification_token,
        "container": container,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        "team": {"id": workspace.team_id, "domain": workspace.domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel.id, "name": channel.name},
        "message": message.to_api(),
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [clicked],
    }


def apply_response(store: Store, target: ResponseTarget, body: dict[str, Any]) -> Message | None:
    """Apply a ``response_url`` POST; returns the message posted, if any."""
    original = store.get_message(target.channel, target.message_ts)
    if body.get("delete_original") and original is not None:
        original.deleted = True
        return None
    if body.get("replace_original") and original is not None:
        if "text" in body:
            original.text = str(body["text"])
        if "blocks" in body:
            original.blocks = body["blocks"] or None
        return None
    workspace = store.workspaces[target.team_id]
    message = Message(
        ts=store.ts_clock.next(),
        channel=target.channel,
        team_id=target.team_id,
        user=workspace.bot_user_id,
        text=str(body.get("text", "")),
        blocks=body.get("blocks"),
        thread_ts=body.get("thread_ts"),
        bot_id=workspace.bot_id,
        subtype=None if body.get("response_type") == "in_channel" else "ephemeral",
    )
    if message.subtype != "ephemeral":
        store.add_message(message)
    return message
