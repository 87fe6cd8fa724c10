"""Slash commands: what Slack sends when someone types ``/command text``.

The fields are those of bolt-js's ``SlashCommand`` ("the entire URL-encoded body of a
request from Slack's slash commands": token, command, text, response_url, trigger_id,
user_id, user_name, team_id, team_domain, channel_id, channel_name, api_app_id,
is_enterprise_install; docs.slack.dev tools/bolt-js/reference/interfaces/SlashCommand).
Over HTTP they are a form-encoded body (not JSON, not a ``payload`` field); over Socket Mode
an envelope of type ``slash_commands`` whose ``payload`` is the same fields as an object,
which accepts a response payload in its ack. There is no ``thread_ts``: Slack does not say
in which thread a command was typed. The app must acknowledge within 3 s (else the person
sees the command fail); the ack's body, or a POST to ``response_url``, is the answer,
ephemeral unless ``response_type`` is ``in_channel``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bots.simulators.slack.config import AppIdentity
from bots.simulators.slack.model import Channel, User, Workspace

__all__ = ["slash_command_payload"]


def slash_command_payload(
    *,
    workspace: Workspace,
    app: AppIdentity,
    user: User,
    channel: Channel,
    command: str,
    text: str,
    response_url: str,
) -> dict[str, Any]:
    return {
        "token": app.verification_token,
        "team_id": workspace.team_id,
        "team_domain": workspace.domain,
        "channel_id": channel.id,
        "channel_name": channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": app.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
    }
