"""``DiscordSimulator``: the server plus helpers that act as Discord's users and gateway.

Each helper changes the world like the user's action would on Discord, dispatches the
gateway events Discord would send, and returns once they are written to the sockets — the
bot may still be processing them; wait on the bot's effects (``wait_until``).
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from .bodies import Upload
from .components import submission_problem
from .connection import GatewaySession
from .models import SimChannel, SimInteraction, SimMessage, SimUser
from .purges import bulk_delete, bulk_ids
from .restrictions import PERMISSION_NAMES
from .server import SimulatorServer

__all__ = ["DiscordSimulator"]

_OCTETS = "application/octet-stream"
_OPTION_TYPES = {str: 3, int: 4, bool: 5, float: 10}


class DiscordSimulator(SimulatorServer):
    """A local Discord (REST + gateway) for the real discord.py client; see the package doc."""

    def _author(self, author: str | SimUser) -> SimUser:
        return author if isinstance(author, SimUser) else self.world.user_named(author)

    async def user_message(
        self,
        channel_id: int,
        content: str,
        *,
        author: str | SimUser = "alice",
        mention_bot: bool = False,
        attachments: Iterable[tuple[str, bytes] | tuple[str, bytes, str]] = (),
        reply_to: int | None = None,
        ping_reply: bool = True,
        stickers: Iterable[str] = (),
    ) -> SimMessage:
        """A user posts in a channel, thread or DM (``mention_bot`` prefixes ``<@bot>``);
        ``attachments``: (name, bytes[, content type]) uploaded with it; ``reply_to``: a reply
        to that message, which pings its author unless ``ping_reply`` is off (the client's
        "@ ON/OFF" toggle, sent as ``allowed_mentions.replied_user``); ``stickers``: the names
        of stickers sent with it (discord-api-docs Resources > Sticker, Sticker Item Object:
        ``id``, ``name``, ``format_type``; 1 = PNG)."""
        if mention_bot:
            content = f"<@{self.bot.id}> {content}"
        payload: dict[str, Any] = {"content": content}
        if reply_to is not None:
            payload["message_reference"] = {
                "message_id": str(reply_to),
                "channel_id": str(channel_id),
            }
            if not ping_reply:
                everything = ["users", "roles", "everyone"]
                payload["allowed_mentions"] = {"parse": everything, "replied_user": False}
        uploads = [
            Upload(f"files[{i}]", item[0], item[1], item[2] if len(item) > 2 else _OCTETS)
            for i, item in enumerate(attachments)
        ]
        message = self.world.add_message(channel_id, self._author(author), payload, uploads)
        message.sticker_items = [
            {"id": str(self.world.ids.next()), "name": name, "format_type": 1} for name in stickers
        ]
        self.state.events.message_created(message)
        await self.delivered()
        return message

    async def dm_message(
        self, content: str, *, author: str | SimUser = "alice", **options: Any
    ) -> SimMessage:
        """A user writes to the bot in their DM channel (created on first use)."""
        channel = self.world.dm_channel(self._author(author).id)
        return await self.user_message(channel.id, content, author=author, **options)

    async def user_thread(
        self,
        channel_id: int,
        name: str,
        *,
        author: str | SimUser = "alice",
        from_message: int | None = None,
    ) -> SimChannel:
        """A user opens a thread (one the bot does not own); dispatches THREAD_CREATE."""
        starter = None if from_message is None else self.world.message(channel_id, from_message)
        thread = self.world.create_thread(
            channel_id,
            owner_id=self._author(author).id,
            name=name,
            auto_archive_duration=1440,
            thread_id=from_message,
        )
        if starter is not None:
            starter.thread_id = thread.id
        self.state.events.thread_created(thread)
        await self.delivered()
        return thread

    async def forum_post(
        self,
        forum_id: int,
        title: str,
        content: str,
        *,
        author: str | SimUser = "alice",
        mention_bot: bool = False,
    ) -> SimMessage:
        """A user posts in a forum channel: a thread named ``title`` and, inside it, its
        starter message, which has the thread's id (discord.py ``Thread.starter_message``:
        "the thread starter message ID is the same ID as the thread"); Discord fires
        THREAD_CREATE, then MESSAGE_CREATE (discord-api-docs Resources > Channel, "Start
        Thread in Forum or Media Channel")."""
        user = self._author(author)
        thread = self.world.create_thread(
            forum_id, owner_id=user.id, name=title, auto_archive_duration=1440, post=True
        )
        self.state.events.thread_created(thread)
        if mention_bot:
            content = f"<@{self.bot.id}> {content}"
        message = self.world.add_message(
            thread.id, user, {"content": content}, [], message_id=thread.id
        )
        self.state.events.message_created(message)
        await self.delivered()
        return message

    async def user_edits(self, channel_id: int, message_id: int, content: str) -> SimMessage:
        """A user edits their message: its ``content`` is replaced and ``edited_timestamp``
        set ("when this message was edited (or null if never)"), and Discord fires
        MESSAGE_UPDATE (discord-api-docs Resources > Message, Message Object and "Edit
        Message": "Fires a Message Update Gateway event"). History (Get Channel Messages)
        then returns the message as it is now."""
        message = self.world.message(channel_id, message_id)
        self.world.edit_message(message, {"content": content}, [])
        self.state.events.message_updated(message)
        await self.delivered()
        return message

    async def delete_message(self, channel_id: int, message_id: int) -> None:
        """A moderator deletes a message (e.g. the bot's reply while it streams)."""
        message = self.world.message(channel_id, message_id)
        self.world.delete_message(message)
        self.state.events.message_deleted(message)
        await self.delivered()

    async def bulk_delete(self, channel_id: int, message_ids: Iterable[int]) -> list[SimMessage]:
        """A moderator purges messages (Discord's client, or a moderation bot, uses Bulk
        Delete Messages): as the REST route, without the bot's permissions (``purges``);
        dispatches one MESSAGE_DELETE_BULK."""
        channel = self.world.channel(channel_id)
        ids = bulk_ids({"messages": [str(i) for i in message_ids]})
        deleted = bulk_delete(self.state, channel, ids)
        await self.delivered()
        return deleted

    def deny(self, channel_id: int, *permissions: str) -> None:
        """A moderator takes ``permissions`` from the bot in a channel (its threads inherit
        them), e.g. ``deny(general, "CREATE_PUBLIC_THREADS")``; see ``restrictions``."""
        unknown = set(permissions) - PERMISSION_NAMES
        if unknown:
            raise ValueError(f"permissions not modelled: {sorted(unknown)}")
        self.world.channel(channel_id).denied.update(permissions)

    async def archive_thread(self, thread_id: int) -> None:
        """A moderator archives a thread (or Discord does, after inactivity): messages in it
        can no longer be edited until it is unarchived; dispatches THREAD_UPDATE."""
        thread = self.world.channel(thread_id)
        if not thread.is_thread:
            raise ValueError(f"{thread_id} is not a thread")
        thread.archived = True
        self.state.events.thread_updated(thread)
        await self.delivered()

    async def lock_thread(self, thread_id: int, *, archive: bool = True) -> None:
        """A moderator locks a thread — Discord's "Close & Lock" also archives it
        (``archive``); the bot may then neither post nor edit there (``restrictions``);
        dispatches THREAD_UPDATE."""
        thread = self.world.channel(thread_id)
        if not thread.is_thread:
            raise ValueError(f"{thread_id} is not a thread")
        thread.locked = True
        thread.archived = thread.archived or archive
        self.state.events.thread_updated(thread)
        await self.delivered()

    async def delete_thread(self, thread_id: int) -> SimChannel:
        """A moderator deletes a thread with everything in it; dispatches THREAD_DELETE.
        Every later call naming it gets 404 / 10003 Unknown Channel."""
        thread = self.world.delete_channel(thread_id)
        self.state.events.thread_deleted(thread)
        await self.delivered()
        return thread

    async def _interact(
        self,
        kind: int,
        channel_id: int,
        user: str | SimUser,
        data: dict[str, Any],
        message_id: int | None = None,
    ) -> SimInteraction:
        channel = self.world.channel(channel_id)
        interaction = SimInteraction(
            id=self.world.ids.next(),
            token=secrets.token_urlsafe(48),
            type=kind,
            channel_id=channel.id,
            user=self._author(user),
            data=data,
            guild_id=channel.guild_id,
            message_id=message_id,
            created=self.state.limiter.now(),
        )
        self.world.interactions[interaction.id] = interaction
        self.state.events.interaction_created(interaction)
        await self.delivered()
        return interaction

    async def slash_command(
        self,
        name: str,
        *,
        channel_id: int,
        user: str | SimUser = "alice",
        options: Mapping[str, str | int | bool | float] | None = None,
    ) -> SimInteraction:
        """A user runs ``/name`` in a channel, thread or DM (INTERACTION_CREATE type 2)."""
        guild_id = self.world.channel(channel_id).guild_id
        data: dict[str, Any] = {
            "id": str(self.world.commands.command_id(name, guild_id)),
            "name": name,
            "type": 1,
            "options": [
                {"name": k, "type": _OPTION_TYPES[type(v)], "value": v}
                for k, v in (options or {}).items()
            ],
        }
        if guild_id is not None:
            data["guild_id"] = str(guild_id)
        return await self._interact(2, channel_id, user, data)

    async def click_button(
        self, message_id: int, custom_id: str, *, user: str | SimUser = "alice"
    ) -> SimInteraction:
        """A user clicks a component of a message (INTERACTION_CREATE type 3)."""
        message = self.world.find_message(message_id)
        if message is None:
            raise KeyError(f"no message {message_id}")
        component_type = _component_type(message.components, custom_id)
        if component_type is None:
            raise KeyError(f"message {message_id} has no component {custom_id!r}")
        data = {"custom_id": custom_id, "component_type": component_type}
        return await self._interact(3, message.channel_id, user, data, message_id=message.id)

    async def submit_modal(
        self, opened_by: SimInteraction, values: Mapping[str, str], *, user: str | SimUser = "alice"
    ) -> SimInteraction:
        """The user submits the modal ``opened_by``'s response opened (INTERACTION_CREATE
        type 5, MODAL_SUBMIT: the modal's ``custom_id`` and each text input's value)."""
        modal = opened_by.modal
        if modal is None:
            raise KeyError(f"interaction {opened_by.id} opened no modal")
        refused = submission_problem(modal, values)
        if refused is not None:  # Discord's client would not send it (``components``)
            raise ValueError(f"the modal cannot be submitted: {refused}")
        opened_by.modal = None
        rows: list[dict[str, Any]] = []
        for row in modal["components"]:
            if row["type"] == 10:  # a Text Display: only its type comes back
                rows.append({"type": 10})
                continue
            inner = row["component"] if row["type"] == 18 else row["components"][0]
            custom_id = inner["custom_id"]
            text_input = {"type": 4, "custom_id": custom_id, "value": values.get(custom_id, "")}
            # Component Reference, Label Interaction Response Structure: ``component``.
            wrapped = (
                {"component": text_input} if row["type"] == 18 else {"components": [text_input]}
            )
            rows.append({"type": row["type"], **wrapped})
        data = {"custom_id": modal["custom_id"], "components": rows}
        return await self._interact(
            5, opened_by.channel_id, user, data, message_id=opened_by.message_id
        )

    async def dispatch(
        self, name: str, data: dict[str, Any], *, guild_id: int | None = None
    ) -> int:
        """Send any dispatch to every session (an escape hatch for unusual events)."""
        count = self.state.gateway.dispatch(name, data, intent=None, guild_id=guild_id)
        await self.delivered()
        return count

    async def dispatch_raw(self, name: str, data: Any) -> int:
        """A dispatch whose ``d`` is anything (``null``, a bare id, a field of the wrong
        type): Discord never sends one on purpose, but a proxy or a bug on either side might.
        Sequenced like any dispatch, so a resume would replay it. For hostile-input tests."""
        delivered = 0
        for session in self.sessions:
            text = session.frame(name, data)
            if session.connection is not None:
                session.connection.send(text)
                delivered += 1
        await self.delivered()
        return delivered

    async def send_raw_frame(self, text: str) -> int:
        """Write ``text`` as is (not even JSON) to every connected session, unsequenced.
        With ``zlib-stream`` it still goes through the connection's deflate stream, so the
        client has to decompress it before it can tell it is garbage."""
        delivered = 0
        for session in self.sessions:
            if session.connection is not None:
                session.connection.send(text)
                delivered += 1
        await self.delivered()
        return delivered

    async def redeliver_after_resume(self, message_id: int, *, within: float = 10.0) -> None:
        """Make the client reconnect and RESUME, then replay from ``message_id``'s
        MESSAGE_CREATE: the bot receives that message a second time, as after a real resume.
        """
        session = await self.wait_for_session(within)
        seq = next((s for s, text in session.log if _is_create_of(text, message_id)), None)
        if seq is None:
            raise KeyError(f"message {message_id} was not dispatched to the session")
        async with asyncio.timeout(within):
            await self.state.gateway.reconnect(session, replay_from=seq)
        await self.delivered()

    async def invalidate_session(self, *, resumable: bool, within: float = 10.0) -> None:
        """INVALID_SESSION (op 9) mid-session, then wait until the client is back: resumed
        (``resumable``), or identified as a new session (see ``Gateway.invalidate``)."""
        session = await self.wait_for_session(within)
        self.state.gateway.invalidate(session, resumable=resumable)
        await self.until_back(session, within)

    async def close_gateway(self, code: int, reason: str = "", *, within: float = 10.0) -> None:
        """Close the connected session's websocket with ``code`` (e.g. 4008 "Rate limited.",
        Gateway Close Event Codes), then wait until the client has resumed or identified."""
        session = await self.wait_for_session(within)
        await self.state.gateway.close_with(session, code, reason)
        await self.until_back(session, within)

    async def zombie_connection(self, within: float = 10.0) -> GatewaySession:
        """Make the connected session's websocket a zombie (``Gateway.go_silent``: no
        HEARTBEAT_ACK, no dispatch); the client has to notice, close and RESUME."""
        session = await self.wait_for_session(within)
        self.state.gateway.go_silent(session)
        return session

    async def time_out_session(self, *, within: float = 10.0) -> None:
        """Close with 4009 "Session timed out" (``Gateway.time_out``), then wait until the
        client is back on a new session."""
        session = await self.wait_for_session(within)
        await self.state.gateway.time_out(session)
        await self.until_back(session, within)

    async def until_back(self, old: GatewaySession, within: float = 10.0) -> None:
        """Wait until the client is connected again after ``old``'s connection ended:
        ``old`` resumed, or (when Discord forgot it) a new session identified."""

        def back() -> bool:
            if old.id in self.state.gateway.sessions:
                return old.resumed.is_set() and old.connection is not None
            return any(s.connection is not None for s in self.sessions)

        await self.wait_until(back, within)
        await self.delivered()


def _is_create_of(text: str, message_id: int) -> bool:
    frame = json.loads(text)
    return bool(frame.get("t") == "MESSAGE_CREATE" and frame["d"].get("id") == str(message_id))


def _component_type(rows: list[dict[str, Any]], custom_id: str) -> int | None:
    for row in rows:
        for component in row.get("components", []):
            if component.get("custom_id") == custom_id:
                return int(component.get("type", 2))
    return None
