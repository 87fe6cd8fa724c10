"""The JSON of messages and interactions, as REST returns them and dispatches carry them.

A dispatched guild message also carries ``guild_id`` and the author's ``member``; a session
without the MESSAGE_CONTENT intent gets the content fields emptied (``strip_content``),
except in messages the bot wrote or is mentioned in (``content_exempt``).

A reply (a message sent with a ``message_reference`` of the default type) is of type 19
REPLY and carries the message it answers as ``referenced_message`` (``null`` once that is
deleted) (discord-api-docs, Resources > Message: Message Types, Message Structure note 4);
so does a thread's THREAD_STARTER_MESSAGE (type 21), with its starter message.
"""

from __future__ import annotations

from typing import Any

from .config import SimulatorConfig
from .mentions import mentioned_user_ids
from .models import REPLY, THREAD_STARTER_MESSAGE, SimAttachment, SimInteraction, SimMessage
from .payloads import (
    BOT_PERMISSIONS,
    MEMBER_PERMISSIONS,
    channel_json,
    member_json,
    user_json,
)
from .snowflakes import iso_timestamp
from .world import World

__all__ = [
    "content_exempt",
    "interaction_json",
    "message_json",
    "strip_content",
    "without_content",
]

JsonDict = dict[str, Any]


def _attachment_json(attachment: SimAttachment) -> JsonDict:
    return {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": attachment.url,
        "proxy_url": attachment.url,
        "content_type": attachment.content_type,
        "description": attachment.description,
    }


def message_json(world: World, message: SimMessage, *, gateway: bool = False) -> JsonDict:
    """A message as REST returns it; ``gateway=True`` adds what dispatches carry."""
    channel = world.channels[message.channel_id]
    data: JsonDict = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "type": message.type,
        "author": user_json(message.author),
        "content": message.content,
        "timestamp": iso_timestamp(message.created_at),
        "edited_timestamp": iso_timestamp(message.edited_at) if message.edited_at else None,
        "tts": False,
        "mention_everyone": message.pings.everyone,
        "mentions": [user_json(world.users[u]) for u in message.pings.users if u in world.users],
        "mention_roles": [str(r) for r in message.pings.roles],
        "attachments": [_attachment_json(a) for a in message.attachments],
        "embeds": message.embeds,
        "components": message.components,
        "pinned": False,
        "flags": message.flags,
    }
    if message.sticker_items:
        data["sticker_items"] = message.sticker_items
    if message.message_reference is not None:
        data["message_reference"] = message.message_reference
        if message.type in (REPLY, THREAD_STARTER_MESSAGE):
            replied = world.find_message(int(message.message_reference["message_id"]))
            data["referenced_message"] = None if replied is None else message_json(world, replied)
    if message.webhook_id is not None:
        data["webhook_id"] = str(message.webhook_id)
        data["application_id"] = str(world.application_id)
    if message.thread_id is not None and message.thread_id in world.channels:
        data["thread"] = channel_json(world, world.channels[message.thread_id])
    if gateway and channel.guild_id is not None:
        data["guild_id"] = str(channel.guild_id)
        data["member"] = member_json(
            world, message.author, guild_id=channel.guild_id, with_user=False
        )
    return data


def content_exempt(world: World, message: SimMessage) -> bool:
    """Whether ``message``'s content reaches a bot without the MESSAGE_CONTENT intent: "These
    restrictions do not apply for messages that a bot or app sends, in DMs that it receives,
    or in messages in which it is mentioned" (discord-api-docs, change-log 2022-09-01,
    "Message Content is a Privileged Intent"). A reply that pings the bot lists it in
    ``mentions`` and counts as a mention (discord-api-docs issue #5395: "When replying to a
    normal message sent by the bot, it is considered a 'mention' and the bot is able to see
    the message content")."""
    channel = world.channels[message.channel_id]
    bot = world.bot.id
    return (
        channel.guild_id is None
        or message.author.id == bot
        or bot in mentioned_user_ids(message.content)
        or bot in message.pings.users
    )


def strip_content(data: JsonDict) -> JsonDict:
    """A message's JSON with the content fields Discord empties without the intent."""
    return {**data, "content": "", "embeds": [], "attachments": [], "components": []}


def without_content(world: World, message: SimMessage, data: JsonDict) -> JsonDict:
    """``data`` (``message``'s JSON) as a bot without the MESSAGE_CONTENT intent gets it:
    the content fields emptied unless ``content_exempt``, in the replied-to message too."""
    seen = data if content_exempt(world, message) else strip_content(data)
    nested = data.get("referenced_message")
    if isinstance(nested, dict):
        replied = world.find_message(int(nested["id"]))
        if replied is None or not content_exempt(world, replied):
            seen = {**seen, "referenced_message": strip_content(nested)}
    return seen


def interaction_json(
    world: World, interaction: SimInteraction, config: SimulatorConfig
) -> JsonDict:
    channel = world.channels[interaction.channel_id]
    data: JsonDict = {
        "id": str(interaction.id),
        "application_id": str(world.application_id),
        "type": interaction.type,
        "data": interaction.data,
        "channel": channel_json(world, channel),
        "channel_id": str(channel.id),
        "token": interaction.token,
        "version": 1,
        "app_permissions": str(BOT_PERMISSIONS),
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": config.max_file_size,
    }
    if interaction.guild_id is not None:
        data["guild_id"] = str(interaction.guild_id)
        data["guild_locale"] = "en-US"
        data["member"] = {
            **member_json(world, interaction.user, guild_id=interaction.guild_id),
            "permissions": str(MEMBER_PERMISSIONS),
        }
        data["authorizing_integration_owners"] = {"0": str(interaction.guild_id)}
        data["context"] = 0
    else:
        data["user"] = user_json(interaction.user)
        data["authorizing_integration_owners"] = {"0": str(world.guild_id)}
        data["context"] = 1
    if interaction.message_id is not None:
        message = world.find_message(interaction.message_id)
        if message is not None:
            data["message"] = message_json(world, message)
    return data
