"""REST routes on channels: messages (create, get, list, edit, delete, bulk delete), typing,
threads, DMs, and the attachment files a message's URLs point at.

Each handler validates as Discord does, changes the world, dispatches the gateway events
Discord would, and returns Discord's JSON.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .bodies import Body
from .errors import ApiError, empty_message, invalid_form
from .history import get_message, list_messages
from .message_payloads import message_json
from .middleware import API_PREFIX, BODY
from .models import ChannelType, SimMessage
from .nonces import Nonces
from .payloads import channel_json
from .purges import bulk_delete, bulk_ids
from .responses import json_response
from .restrictions import (
    CREATE_PUBLIC_THREADS,
    MANAGE_MESSAGES,
    check_active_threads,
    check_edit,
    check_send,
    check_unarchive,
    require,
)
from .state import STATE, SimState
from .validation import validate_message
from .world import World

__all__ = ["channel_routes"]

ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


def _ids(request: web.Request, *names: str) -> list[int]:
    try:
        return [int(request.match_info[name]) for name in names]
    except ValueError:
        raise invalid_form(names[0], "NUMBER_TYPE_COERCE", "Value is not snowflake.") from None


def _context(request: web.Request) -> tuple[SimState, Body, dict[str, Any]]:
    body: Body = request[BODY]
    payload = body.json if isinstance(body.json, dict) else {}
    return request.app[STATE], body, payload


async def create_message(request: web.Request) -> web.Response:
    state, body, payload = _context(request)
    (channel_id,) = _ids(request, "channel_id")
    channel = state.world.channel(channel_id)
    check_send(state, channel, files=len(body.files))
    validate_message(payload, len(body.files), state.config, creating=True)
    payload = _checked_reference(state, channel.id, payload)
    author, now = state.world.bot, state.clock.now()
    nonce = Nonces.of(payload)
    if nonce is not None:  # a retry of a create that landed returns that message (nonces.py)
        earlier = state.nonces.earlier(author.id, nonce, now)
        if earlier is not None:
            found = state.world.find_message(earlier[1])
            if found is None:
                raise Nonces.deleted()
            return json_response(message_json(state.world, found))
    message = state.world.add_message(channel.id, author, payload, body.files)
    if nonce is not None:
        state.nonces.created(author.id, nonce, channel.id, message.id, now)
    if channel.archived:  # posting in an archived thread unarchives it
        channel.archived = False
        state.events.thread_updated(channel)
    state.events.message_created(message)
    return json_response(message_json(state.world, message))


def _checked_reference(state: SimState, channel_id: int, payload: dict[str, Any]) -> dict[str, Any]:
    """A reply's ``message_reference`` (discord-api-docs, Resources > Message, Message
    Reference: ``fail_if_not_exists``, "when sending, whether to error if the referenced
    message doesn't exist instead of sending as a normal (non-reply) message, default
    true"). A reply to a message not in this channel (deleted, or elsewhere) is 400 / 50035
    at ``message_reference`` — ``REPLIES_UNKNOWN_MESSAGE`` "Unknown message", the code
    libraries match on (hikari and discord.js bots' handlers) — unless
    ``fail_if_not_exists`` is false: then the payload without it (a plain message).
    Forwards (``type`` 1) are not modelled."""
    reference = payload.get("message_reference")
    if not isinstance(reference, dict) or reference.get("type", 0) != 0:
        return payload
    raw_channel = reference.get("channel_id")
    if raw_channel is not None and str(raw_channel) != str(channel_id):
        raise invalid_form(
            "message_reference",
            "REPLIES_CANNOT_REFERENCE_OTHER_CHANNEL",
            "Cannot reply to a message in a different channel",
        )
    try:
        target = state.world.find_message(int(reference.get("message_id") or 0))
    except (TypeError, ValueError):
        target = None
    if target is not None and target.channel_id == channel_id:
        return payload
    if reference.get("fail_if_not_exists", True) is not False:
        raise invalid_form("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
    return {key: value for key, value in payload.items() if key != "message_reference"}


def _would_be_empty(message: SimMessage, payload: dict[str, Any], new_files: int) -> bool:
    """Whether the edit leaves nothing: each field the edit sends replaces the message's
    (``components: []`` removes its buttons too), and the result must still have content,
    an embed, a file or components, as a new message must (400 / 50006)."""
    content = payload.get("content", message.content)
    embeds = payload.get("embeds", message.embeds)
    components = payload.get("components", message.components)
    kept = len(World.kept_attachments(message, payload))
    return not (content or embeds or kept or new_files or components)


async def edit_message(request: web.Request) -> web.Response:
    state, body, payload = _context(request)
    channel_id, message_id = _ids(request, "channel_id", "message_id")
    message = state.world.message(channel_id, message_id)
    if message.author.id != state.world.bot.id and set(payload) - {"flags"}:
        raise ApiError(403, 50005, "Cannot edit a message authored by another user")
    refused = check_edit(state, state.world.channel(channel_id), message)
    if refused is not None:
        return refused
    kept = len(World.kept_attachments(message, payload))
    validate_message(payload, kept + len(body.files), state.config, creating=False)
    if _would_be_empty(message, payload, len(body.files)):
        raise empty_message()
    state.world.edit_message(message, payload, body.files)
    state.events.message_updated(message)
    return json_response(message_json(state.world, message))


async def delete_message(request: web.Request) -> web.Response:
    state = request.app[STATE]
    channel_id, message_id = _ids(request, "channel_id", "message_id")
    message = state.world.message(channel_id, message_id)
    state.world.delete_message(message)
    state.events.message_deleted(message)
    return web.Response(status=204)


async def bulk_delete_messages(request: web.Request) -> web.Response:
    """Bulk Delete Messages (see ``purges``): 204, one MESSAGE_DELETE_BULK."""
    state, _, payload = _context(request)
    (channel_id,) = _ids(request, "channel_id")
    channel = state.world.channel(channel_id)
    if channel.guild_id is not None:
        require(state, channel, MANAGE_MESSAGES)
    bulk_delete(state, channel, bulk_ids(payload))
    return web.Response(status=204)


async def typing(request: web.Request) -> web.Response:
    state = request.app[STATE]
    (channel_id,) = _ids(request, "channel_id")
    state.world.channel(channel_id)
    return web.Response(status=204)


def _thread_options(payload: dict[str, Any]) -> tuple[str, int]:
    """Start Thread from Message / without Message (discord-api-docs, Resources > Channel,
    https://discord.com/developers/docs/resources/channel#start-thread-from-message):
    ``name`` "1-100 character channel name" (required: missing, 50035 BASE_TYPE_REQUIRED),
    ``auto_archive_duration`` one of 60, 1440, 4320, 10080."""
    name = payload.get("name")
    if name is None:
        raise invalid_form("name", "BASE_TYPE_REQUIRED", "This field is required")
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise invalid_form("name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    duration = payload.get("auto_archive_duration") or 1440
    if duration not in ARCHIVE_DURATIONS:
        choices = ", ".join(str(d) for d in ARCHIVE_DURATIONS)
        raise invalid_form(
            "auto_archive_duration", "BASE_TYPE_CHOICES", f"Value must be one of ({choices})."
        )
    return name, int(duration)


async def thread_from_message(request: web.Request) -> web.Response:
    state, _, payload = _context(request)
    channel_id, message_id = _ids(request, "channel_id", "message_id")
    message = state.world.message(channel_id, message_id)
    require(state, state.world.channel(channel_id), CREATE_PUBLIC_THREADS)
    name, duration = _thread_options(payload)
    if message.thread_id is not None:
        raise ApiError(400, 160004, "A thread has already been created for this message")
    check_active_threads(state, state.world.channel(channel_id).guild_id)
    # The thread's id is the starter message's id, as on Discord.
    thread = state.world.create_thread(
        channel_id,
        owner_id=state.world.bot.id,
        name=name,
        auto_archive_duration=duration,
        thread_id=message.id,
    )
    message.thread_id = thread.id
    state.events.thread_created(thread)
    return json_response(channel_json(state.world, thread), status=201)


async def thread_without_message(request: web.Request) -> web.Response:
    state, _, payload = _context(request)
    (channel_id,) = _ids(request, "channel_id")
    name, duration = _thread_options(payload)
    check_active_threads(state, state.world.channel(channel_id).guild_id)
    kind = payload.get("type", int(ChannelType.PRIVATE_THREAD))  # Discord's default
    thread = state.world.create_thread(
        channel_id,
        owner_id=state.world.bot.id,
        name=name,
        auto_archive_duration=duration,
        private=kind == int(ChannelType.PRIVATE_THREAD),
    )
    state.events.thread_created(thread)
    return json_response(channel_json(state.world, thread), status=201)


async def get_channel(request: web.Request) -> web.Response:
    state = request.app[STATE]
    (channel_id,) = _ids(request, "channel_id")
    return json_response(channel_json(state.world, state.world.channel(channel_id)))


async def modify_channel(request: web.Request) -> web.Response:
    """PATCH a thread: ``archived`` (false unarchives it; "only requires the current user
    has already been added to the thread", Topics > Threads > Editing & Deleting Threads),
    ``name`` and ``auto_archive_duration``. Other channels' settings are not modelled."""
    state, _, payload = _context(request)
    (channel_id,) = _ids(request, "channel_id")
    channel = state.world.channel(channel_id)
    if not channel.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    if "name" in payload or "auto_archive_duration" in payload:
        name, duration = _thread_options(
            {"name": channel.name, "auto_archive_duration": channel.auto_archive_duration} | payload
        )
        channel.name, channel.auto_archive_duration = name, duration
    if "archived" in payload:
        if channel.archived and not payload["archived"]:
            check_unarchive(state, channel)
        channel.archived = bool(payload["archived"])
    state.events.thread_updated(channel)
    return json_response(channel_json(state.world, channel))


async def join_thread(request: web.Request) -> web.Response:
    state = request.app[STATE]
    (channel_id,) = _ids(request, "channel_id")
    if not state.world.channel(channel_id).is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    return web.Response(status=204)


async def create_dm(request: web.Request) -> web.Response:
    state, _, payload = _context(request)
    try:
        recipient = int(payload["recipient_id"])
    except (KeyError, TypeError, ValueError):
        raise invalid_form("recipient_id", "BASE_TYPE_REQUIRED", "This field is required") from None
    return json_response(channel_json(state.world, state.world.dm_channel(recipient)))


async def attachment_file(request: web.Request) -> web.Response:
    """The CDN: serves an uploaded file at the URL its attachment JSON gives."""
    state = request.app[STATE]
    attachment = state.world.attachments.get(int(request.match_info["attachment_id"]))
    if attachment is None:
        raise web.HTTPNotFound()
    return web.Response(body=attachment.data, content_type=attachment.content_type)


def channel_routes() -> list[web.RouteDef]:
    p = API_PREFIX + "/channels/{channel_id}"
    return [
        web.post(p + "/messages", create_message),
        web.get(p + "/messages", list_messages),
        web.get(p + "/messages/{message_id}", get_message),
        web.patch(p + "/messages/{message_id}", edit_message),
        web.delete(p + "/messages/{message_id}", delete_message),
        web.post(p + "/messages/bulk-delete", bulk_delete_messages),
        web.post(p + "/messages/{message_id}/threads", thread_from_message),
        web.post(p + "/threads", thread_without_message),
        web.post(p + "/typing", typing),
        web.put(p + "/thread-members/@me", join_thread),
        web.get(p, get_channel),
        web.patch(p, modify_channel),
        web.post(API_PREFIX + "/users/@me/channels", create_dm),
        web.get("/attachments/{channel_id}/{attachment_id}/{filename}", attachment_file),
    ]
