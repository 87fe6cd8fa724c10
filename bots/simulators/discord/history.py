"""Reading messages over REST: "Get Channel Messages" (paged) and "Get Channel Message".

discord-api-docs, Resources > Message:

- Get Channel Messages: ``around``, ``before``, ``after`` (snowflakes, mutually exclusive)
  and ``limit`` "Max number of messages to return (1-100)", default 50; the newest first.
  ``before`` gives the messages just older than it; ``after`` the ones just newer (the
  oldest ``limit`` of them, still answered newest first, which is why discord.py reverses
  its ``after`` pages). "If the current user is missing the READ_MESSAGE_HISTORY
  permission in the channel, then no messages will be returned."
- Get Channel Message: also needs READ_MESSAGE_HISTORY (403 / 50013 here, as the
  simulator's other permission refusals).
- Message Content intent (Topics > Gateway, "Message Content Intent"): without it, the
  content fields of other users' guild messages are empty "across the API" — REST answers
  too —, except the app's own messages, DMs and messages that mention it. The simulator
  takes the intent from the identified gateway sessions (REST has none of its own).
- Ephemeral messages (flag ``EPHEMERAL``, 1 << 6: "this message is only visible to the user
  who invoked the Interaction", Resources > Message, Message Flags) are not in the
  channel's history: the bot reads them only through the interaction's webhook
  (``@original``, follow-ups). The simulator stores them with the channel's messages, so
  they are left out here.
"""

from __future__ import annotations

from aiohttp import web

from .config import MESSAGE_CONTENT
from .errors import ApiError, invalid_form
from .message_payloads import message_json, without_content
from .models import SimMessage
from .responses import json_response
from .restrictions import READ_MESSAGE_HISTORY, require
from .state import STATE, SimState

__all__ = ["get_message", "list_messages"]

_EPHEMERAL = 1 << 6


def _snowflake(request: web.Request, name: str) -> int | None:
    value = request.query.get(name)
    if value is None:
        return None
    if not value.isdigit():
        raise invalid_form(name, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
    return int(value)


def _limit(request: web.Request) -> int:
    value = request.query.get("limit", "50")
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise invalid_form("limit", "NUMBER_TYPE_MAX", "Int value should be between 1 and 100.")
    return int(value)


def _can_read(state: SimState, channel_id: int) -> bool:
    channel = state.world.channel(channel_id)
    if channel.guild_id is None:
        return True
    try:
        require(state, channel, READ_MESSAGE_HISTORY)
    except ApiError:
        return False
    return True


def _visible(state: SimState, message: SimMessage) -> dict[str, object]:
    data = message_json(state.world, message)
    sessions = state.gateway.sessions.values()
    if any(s.intents & MESSAGE_CONTENT for s in sessions):
        return data
    return without_content(state.world, message, data)


async def list_messages(request: web.Request) -> web.Response:
    state: SimState = request.app[STATE]
    channel_id = int(request.match_info["channel_id"])
    state.world.channel(channel_id)
    limit = _limit(request)
    before, after, around = (_snowflake(request, n) for n in ("before", "after", "around"))
    if not _can_read(state, channel_id):
        return json_response([])
    oldest_first = [m for m in state.world.messages_in(channel_id) if not m.flags & _EPHEMERAL]
    if after is not None:
        page = [m for m in oldest_first if m.id > after][:limit]
    elif around is not None:
        older = [m for m in oldest_first if m.id < around][-(limit // 2) :] if limit > 1 else []
        newer = [m for m in oldest_first if m.id >= around][: limit - len(older)]
        page = older + newer
    else:
        page = [m for m in oldest_first if before is None or m.id < before][-limit:]
    return json_response([_visible(state, m) for m in reversed(page)])


async def get_message(request: web.Request) -> web.Response:
    state: SimState = request.app[STATE]
    channel_id, message_id = (int(request.match_info[n]) for n in ("channel_id", "message_id"))
    channel = state.world.channel(channel_id)
    if channel.guild_id is not None:
        require(state, channel, READ_MESSAGE_HISTORY)
    return json_response(_visible(state, state.world.message(channel_id, message_id)))
