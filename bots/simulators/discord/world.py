"""The state of the simulated Discord: its guilds (one unless a test adds more), their
channels and threads, DMs, users, messages per channel and pending interactions
(application commands live in ``commands``).

Pure bookkeeping, no I/O: routes and dispatch helpers change it through these methods and
build the JSON Discord would send from it (``payloads``).
"""

from __future__ import annotations

import datetime
from typing import Any

from .bodies import Upload
from .clock import SimClock
from .commands import CommandRegistry
from .config import SimulatorConfig
from .errors import ApiError, unknown
from .mentions import MentionError, compute_pings
from .models import (
    REPLY,
    THREAD_STARTER_MESSAGE,
    ChannelType,
    SimAttachment,
    SimChannel,
    SimGuild,
    SimInteraction,
    SimMessage,
    SimUser,
)
from .roles import GuildRoles
from .snowflakes import SnowflakeFactory

__all__ = ["World"]

JsonDict = dict[str, Any]


class World:
    """Everything that exists in the simulated Discord."""

    def __init__(self, config: SimulatorConfig, clock: SimClock | None = None) -> None:
        self.config = config
        self.clock = clock or SimClock()
        self.ids = SnowflakeFactory()
        self.base_url = ""  # set when the server is listening, for attachment URLs
        self.bot = SimUser(self.ids.next(), config.bot_name, bot=True)
        self.application_id = self.bot.id  # a bot user's id is its application's id
        first = SimGuild(self.ids.next(), config.guild_name, self.ids.next())
        self.guilds: dict[int, SimGuild] = {first.id: first}
        self.guild_id, self.bot_role_id = first.id, first.bot_role_id  # the first guild's
        self.roles = GuildRoles(self.ids.next)  # roles tests add and give (``roles``)
        self.users: dict[int, SimUser] = {self.bot.id: self.bot}
        self.channels: dict[int, SimChannel] = {}
        self._messages: dict[int, dict[int, SimMessage]] = {}
        self._dm_by_user: dict[int, int] = {}
        self.attachments: dict[int, SimAttachment] = {}
        self.commands = CommandRegistry(self.ids, self.application_id)
        self.interactions: dict[int, SimInteraction] = {}
        for name in config.human_users:
            self.add_user(name)
        for name in config.other_bots:
            self.add_user(name, bot=True)
        for name in config.text_channels:
            self.add_text_channel(name)
        for name in config.forum_channels:
            self.add_text_channel(name, kind=ChannelType.GUILD_FORUM)
        for name in config.voice_channels:
            self.add_text_channel(name, kind=ChannelType.GUILD_VOICE)
        for name in config.announcement_channels:
            self.add_text_channel(name, kind=ChannelType.GUILD_ANNOUNCEMENT)

    # -- guilds, users and channels -------------------------------------------------------

    def add_guild(self, name: str, *, shard: tuple[int, int] | None = None) -> SimGuild:
        """The bot joins another guild; ``shard`` (id, count): one whose events go to that
        shard (``SnowflakeFactory.next_on_shard``). Roles a test adds (``roles``) are the
        first guild's; here the bot holds only its managed role.

        Add guilds before the bot connects: joining later is not dispatched (Discord would
        send a GUILD_CREATE).
        """
        guild_id = self.ids.next() if shard is None else self.ids.next_on_shard(*shard)
        guild = SimGuild(guild_id, name, self.ids.next())
        self.guilds[guild.id] = guild
        return guild

    def add_user(self, name: str, *, bot: bool = False) -> SimUser:
        user = SimUser(self.ids.next(), name, bot=bot)
        self.users[user.id] = user
        return user

    def user_named(self, name: str) -> SimUser:
        for user in self.users.values():
            if user.username == name:
                return user
        raise KeyError(name)

    def add_text_channel(
        self, name: str, guild_id: int | None = None, *, kind: ChannelType = ChannelType.GUILD_TEXT
    ) -> SimChannel:
        """A text channel (or a forum: ``kind``) in ``guild_id`` (by default the first guild)."""
        guild = self.guild_id if guild_id is None else guild_id
        if guild not in self.guilds:
            raise KeyError(f"no guild {guild}: add it first")
        position = sum(1 for c in self.channels.values() if c.type is kind and c.guild_id == guild)
        channel = SimChannel(self.ids.next(), kind, name, guild, position=position)
        self.channels[channel.id] = channel
        self._messages[channel.id] = {}
        return channel

    def channel_named(self, name: str) -> SimChannel:
        for channel in self.channels.values():
            if channel.name == name and channel.guild_id is not None:
                return channel
        raise KeyError(name)

    def channel(self, channel_id: int) -> SimChannel:
        found = self.channels.get(channel_id)
        if found is None:
            raise unknown("channel")
        return found

    def dm_channel(self, user_id: int) -> SimChannel:
        """The bot's DM channel with a user, created on first use as Discord does."""
        if user_id not in self.users:
            raise unknown("user")
        existing = self._dm_by_user.get(user_id)
        if existing is not None:
            return self.channels[existing]
        channel = SimChannel(self.ids.next(), ChannelType.DM, recipient_id=user_id)
        self.channels[channel.id] = channel
        self._messages[channel.id] = {}
        self._dm_by_user[user_id] = channel.id
        return channel

    def create_thread(
        self,
        parent_id: int,
        *,
        owner_id: int,
        name: str,
        auto_archive_duration: int,
        thread_id: int | None = None,
        private: bool = False,
        post: bool = False,
    ) -> SimChannel:
        """``post``: a forum post (a thread in a forum channel; the simulator's users only)."""
        parent = self.channel(parent_id)
        # "When called on a GUILD_TEXT channel, creates a PUBLIC_THREAD. When called on a
        # GUILD_ANNOUNCEMENT channel, creates a ANNOUNCEMENT_THREAD." (discord-api-docs
        # Resources > Channel, Start Thread from Message).
        allowed = (
            (ChannelType.GUILD_FORUM,)
            if post
            else (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT)
        )
        if parent.type not in allowed:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        kind = ChannelType.PRIVATE_THREAD if private else ChannelType.PUBLIC_THREAD
        if parent.type is ChannelType.GUILD_ANNOUNCEMENT:
            kind = ChannelType.ANNOUNCEMENT_THREAD
        thread = SimChannel(
            thread_id or self.ids.next(),
            kind,
            name,
            parent.guild_id,
            parent_id=parent.id,
            owner_id=owner_id,
            auto_archive_duration=auto_archive_duration,
        )
        self.channels[thread.id] = thread
        self._messages[thread.id] = {}
        starter = self._messages[parent.id].get(thread_id) if thread_id and not post else None
        if starter is not None:
            self._starter_message(thread, starter)
        return thread

    def _starter_message(self, thread: SimChannel, starter: SimMessage) -> None:
        """A thread started from a message opens with a THREAD_STARTER_MESSAGE (type 21):
        "sent as the first message in threads that are started from an existing message in
        the parent channel. It _only_ contains a message reference field that points to the
        message from which the thread was started" (discord-api-docs, Topics > Threads, "New
        Message Types"); REST answers add the starter as ``referenced_message`` (see
        ``models.THREAD_STARTER_MESSAGE``). Not in the thread's ``message_count``
        (Resources > Channel, Channel Structure: "not including the initial message")."""
        message = SimMessage(self.ids.next(), thread.id, starter.author)
        message.created_time = self.clock.now()
        message.type = THREAD_STARTER_MESSAGE
        message.message_reference = {
            "type": 0,
            "message_id": str(starter.id),
            "channel_id": str(starter.channel_id),
            "guild_id": str(thread.guild_id),
        }
        self._messages[thread.id][message.id] = message

    def delete_channel(self, channel_id: int) -> SimChannel:
        """Remove a channel or thread and its messages; every later call naming it is 404 /
        10003 Unknown Channel."""
        channel = self.channel(channel_id)
        del self.channels[channel_id]
        self._messages.pop(channel_id, None)
        return channel

    def threads(self) -> list[SimChannel]:
        return [c for c in self.channels.values() if c.is_thread]

    # -- messages --------------------------------------------------------------------------

    def messages_in(self, channel_id: int) -> list[SimMessage]:
        return list(self._messages.get(channel_id, {}).values())

    def last_message_id(self, channel_id: int) -> int | None:
        return next(reversed(self._messages.get(channel_id, {})), None)

    def message(self, channel_id: int, message_id: int) -> SimMessage:
        self.channel(channel_id)
        found = self._messages[channel_id].get(message_id)
        if found is None:
            raise unknown("message")
        return found

    def find_message(self, message_id: int) -> SimMessage | None:
        for per_channel in self._messages.values():
            if message_id in per_channel:
                return per_channel[message_id]
        return None

    def add_message(
        self,
        channel_id: int,
        author: SimUser,
        payload: JsonDict,
        uploads: list[Upload],
        *,
        message_id: int | None = None,
    ) -> SimMessage:
        """Store a new message built from a create-message body (already validated);
        ``message_id``: a forum post's starter, which has its thread's id."""
        channel = self.channel(channel_id)
        message = SimMessage(message_id or self.ids.next(), channel.id, author)
        message.created_time = self.clock.now()
        message.message_reference = payload.get("message_reference")
        if message.message_reference is not None and not message.message_reference.get("type"):
            message.type = REPLY  # a reference of the default type makes a reply
        message.flags = int(payload.get("flags") or 0)
        self._apply(message, payload, uploads)
        self._messages[channel.id][message.id] = message
        channel.message_count += 1
        return message

    @staticmethod
    def kept_attachments(message: SimMessage, payload: JsonDict) -> list[SimAttachment]:
        """The attachments an edit keeps: all, or those whose ids ``attachments`` lists
        (new files appear there too, with their small upload index as id)."""
        if "attachments" not in payload:
            return list(message.attachments)
        listed = {str(a.get("id")) for a in payload["attachments"] or []}
        return [a for a in message.attachments if str(a.id) in listed]

    def edit_message(self, message: SimMessage, payload: JsonDict, uploads: list[Upload]) -> None:
        """Apply an edit body: only the fields present change (PATCH semantics)."""
        message.attachments = self.kept_attachments(message, payload)
        message.edited_at = datetime.datetime.now(datetime.UTC)
        self._apply(message, payload, uploads)

    def delete_message(self, message: SimMessage) -> None:
        del self._messages[message.channel_id][message.id]

    def _apply(self, message: SimMessage, payload: JsonDict, uploads: list[Upload]) -> None:
        if "content" in payload:
            message.content = payload["content"] or ""
        if "embeds" in payload:
            message.embeds = list(payload["embeds"] or [])
        if "components" in payload:
            message.components = list(payload["components"] or [])
        if "allowed_mentions" in payload:
            message.allowed_mentions = payload["allowed_mentions"]
        descriptions = {
            int(a["id"]): a.get("description")
            for a in payload.get("attachments") or []
            if "id" in a and str(a["id"]).isdigit()
        }
        for upload in uploads:
            message.attachments.append(self._store_upload(message, upload, descriptions))
        replied = self._replied_user(message)
        try:
            message.pings = compute_pings(
                message.content, message.allowed_mentions, replied_user_id=replied
            )
        except MentionError as exc:
            raise ApiError(400, 50035, f"Invalid Form Body: allowed_mentions: {exc}") from None
        message.versions.append(message.content)

    def _replied_user(self, message: SimMessage) -> int | None:
        ref = message.message_reference
        if not ref or "message_id" not in ref:
            return None
        target = self.find_message(int(ref["message_id"]))
        return target.author.id if target is not None else None

    def _store_upload(
        self, message: SimMessage, upload: Upload, descriptions: dict[int, str | None]
    ) -> SimAttachment:
        attachment_id = self.ids.next()
        url = f"{self.base_url}/attachments/{message.channel_id}/{attachment_id}/{upload.filename}"
        attachment = SimAttachment(
            attachment_id,
            upload.filename,
            upload.data,
            url,
            upload.content_type,
            descriptions.get(upload.index),
        )
        self.attachments[attachment.id] = attachment
        return attachment

    # -- interactions ---------------------------------------------------------------------

    def interaction_by_token(self, token: str) -> SimInteraction:
        for interaction in self.interactions.values():
            if interaction.token == token:
                return interaction
        raise unknown("webhook")
