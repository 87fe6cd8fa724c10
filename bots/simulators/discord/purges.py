"""Bulk Delete Messages: a moderator's purge, in one call and one gateway event.

``POST /channels/{channel.id}/messages/bulk-delete`` with ``{"messages": [ids]}``
(discord-api-docs, Resources > Message, Bulk Delete Messages,
https://discord.com/developers/docs/resources/message#bulk-delete-messages; twilight-http's
``DeleteMessages`` and discordeno's ``deleteMessages`` repeat its rules):

- 2 to 100 ids; "any message IDs given that do not exist or are invalid will count towards
  the minimum and maximum message count" (so unknown ids are counted, then ignored). The
  form error's code and words are not documented: 400 / 50035 at ``messages``, worded as
  the simulator's other length errors.
- duplicate ids, or a message older than two weeks: "will fail with a 400 BAD REQUEST";
  the age is JSON code 50034 "You can only bulk delete messages that are under 14 days
  old" (Opcodes and Status Codes). Nothing is deleted then. Only messages the simulator
  holds have an age here (its clock, ``clock``); unknown ids are not aged.
- "requires the MANAGE_MESSAGES permission" (checked by the route: ``restrictions``), in a
  guild channel only: a DM is 400 / 50003 "Cannot execute action on a DM channel" (Opcodes
  and Status Codes; discord.py's ``DMChannel`` has no ``delete_messages``).
- "Fires a Message Delete Bulk Gateway event": one MESSAGE_DELETE_BULK ``{ids, channel_id,
  guild_id}`` (Events > Gateway Events, Message Delete Bulk; the GUILD_MESSAGES intent,
  Gateway > List of Intents), read by discord.py as ``on_raw_bulk_message_delete``.
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, invalid_form
from .models import SimChannel, SimMessage
from .state import SimState

__all__ = ["BULK_DELETE_MAX_AGE", "bulk_delete", "bulk_ids"]

BULK_DELETE_MAX_AGE = 14 * 24 * 3600.0  # seconds: "under 14 days old"
_MIN, _MAX = 2, 100


def bulk_ids(payload: dict[str, Any]) -> list[int]:
    """The ids a bulk delete's body names (see the module docstring for its errors)."""
    raw = payload.get("messages")
    if raw is None:
        raise invalid_form("messages", "BASE_TYPE_REQUIRED", "This field is required")
    if not isinstance(raw, list):
        raise invalid_form("messages", "BASE_TYPE_LIST", "Must be an array.")
    if not _MIN <= len(raw) <= _MAX:
        raise invalid_form(
            "messages", "BASE_TYPE_BAD_LENGTH", f"Must be between {_MIN} and {_MAX} in length."
        )
    ids: list[int] = []
    for index, value in enumerate(raw):
        try:
            ids.append(int(value))
        except (TypeError, ValueError):
            raise invalid_form(
                f"messages.{index}", "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.'
            ) from None
    if len(set(ids)) != len(ids):
        raise invalid_form("messages", "BASE_TYPE_BAD_LENGTH", "Duplicate message ids.")
    return ids


def bulk_delete(state: SimState, channel: SimChannel, ids: list[int]) -> list[SimMessage]:
    """Delete the messages of ``ids`` held in ``channel`` all or none, and dispatch one
    MESSAGE_DELETE_BULK for them; returns them."""
    if channel.guild_id is None:
        raise ApiError(400, 50003, "Cannot execute action on a DM channel")
    held = (state.world.find_message(i) for i in ids)
    found = [m for m in held if m is not None and m.channel_id == channel.id]
    now = state.clock.now()
    if any(now - m.created_time >= BULK_DELETE_MAX_AGE for m in found):
        raise ApiError(400, 50034, "You can only bulk delete messages that are under 14 days old")
    for message in found:
        state.world.delete_message(message)
    if found:
        state.events.messages_deleted(channel, [m.id for m in found])
    return found
