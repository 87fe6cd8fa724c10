"""The simulator's records: what exists in the simulated Discord and what was asked of it.

Tests assert on these (``sim.channel_messages(id)``, ``sim.calls``); the JSON Discord would
send is built from them in ``payloads``.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

__all__ = [
    "CHAT_INPUT_COMMAND",
    "REPLY",
    "THREAD_STARTER_MESSAGE",
    "Call",
    "ChannelType",
    "Pings",
    "SimAttachment",
    "SimChannel",
    "SimGuild",
    "SimInteraction",
    "SimMessage",
    "SimUser",
]

JsonDict = dict[str, Any]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


REPLY = 19
"""Message Types: a message sent with a ``message_reference`` of the default type
(discord-api-docs, Resources > Message, Message Types)."""

CHAT_INPUT_COMMAND = 20
"""Message Types: a message an app posts in answer to a slash command (the callback's
message, ``@original``, follow-ups) (discord-api-docs, Resources > Message, Message Types,
CHAT_INPUT_COMMAND 20; libraries call it "APPLICATION_COMMAND", eris PR #1148 "type 20
(Interaction message)"). discord.py reads it as ``MessageType.chat_input_command``."""

THREAD_STARTER_MESSAGE = 21
"""Message Types: the first message of a thread started from a message, in the thread; its
``message_reference`` names the starter message in the parent channel and its
``referenced_message`` carries it (discord-api-docs, Resources > Message, Message Types and
Message Structure note 4: ``referenced_message`` "is only returned for messages with a
``type`` of 19 (REPLY), 21 (THREAD_STARTER_MESSAGE), or 23"; not deletable). discord.py
resolves it into the thread's parent (``Message.__init__``: "isinstance(channel, Thread)
and channel.parent_id == ref.channel_id")."""


class ChannelType(IntEnum):
    """Discord channel types the simulator models."""

    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15


@dataclass(slots=True)
class SimGuild:
    """A guild the bot is in; ``bot_role_id``: the managed role Discord gives the bot there."""

    id: int
    name: str
    bot_role_id: int


@dataclass(slots=True)
class SimUser:
    id: int
    username: str
    bot: bool = False


@dataclass(slots=True)
class SimChannel:
    id: int
    type: ChannelType
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None  # the text channel a thread lives in
    owner_id: int | None = None  # who created a thread
    position: int = 0
    recipient_id: int | None = None  # the other user of a DM
    auto_archive_duration: int = 1440
    archived: bool = False
    # Locked by a moderator (a thread): the bot, without MANAGE_THREADS, may neither post
    # nor edit there (``restrictions``).
    locked: bool = False
    message_count: int = 0
    # Permissions denied to the bot here (a permission overwrite); threads also inherit
    # their parent's. Names as in ``restrictions``, e.g. ``SEND_MESSAGES_IN_THREADS``.
    denied: set[str] = field(default_factory=set)
    created_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )

    @property
    def is_thread(self) -> bool:
        return self.type in _THREADS


_THREADS = (ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD)


@dataclass(slots=True)
class SimAttachment:
    id: int
    filename: str
    data: bytes
    url: str
    content_type: str = "application/octet-stream"
    description: str | None = None

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(slots=True, frozen=True)
class Pings:
    """Who a message notifies, given its content and ``allowed_mentions``."""

    users: frozenset[int] = frozenset()
    roles: frozenset[int] = frozenset()
    everyone: bool = False  # ``@everyone`` or ``@here`` took effect

    @property
    def nobody(self) -> bool:
        return not (self.users or self.roles or self.everyone)


@dataclass(slots=True)
class SimMessage:
    id: int
    channel_id: int
    author: SimUser
    content: str = ""
    embeds: list[JsonDict] = field(default_factory=list)
    attachments: list[SimAttachment] = field(default_factory=list)
    components: list[JsonDict] = field(default_factory=list)
    allowed_mentions: JsonDict | None = None
    pings: Pings = field(default_factory=Pings)
    flags: int = 0
    type: int = 0
    message_reference: JsonDict | None = None
    # Sticker item objects (id, name, format_type); not hidden without MESSAGE_CONTENT,
    # which empties only content, embeds, attachments and components.
    sticker_items: list[JsonDict] = field(default_factory=list)
    thread_id: int | None = None  # the thread started from this message
    webhook_id: int | None = None  # set on interaction responses
    interaction_id: int | None = None
    created_at: datetime.datetime = field(
        default_factory=lambda: datetime.datetime.now(datetime.UTC)
    )
    edited_at: datetime.datetime | None = None
    created_time: float = 0.0  # the simulator's clock when it was posted (its age)
    # Every content the message has shown, first to last: tests count and inspect edits.
    versions: list[str] = field(default_factory=list)

    @property
    def edit_count(self) -> int:
        return max(0, len(self.versions) - 1)


@dataclass(slots=True)
class Call:
    """One REST request as the simulator saw it."""

    method: str
    route: str  # the route template, e.g. ``/channels/{channel_id}/messages``
    path: str
    params: dict[str, str]  # route parameters (channel_id, message_id, ...)
    json: Any  # JSON body, or a multipart request's ``payload_json``
    files: list[tuple[str, int]]  # (filename, size) of uploaded files
    status: int
    time: float  # event-loop time when the request arrived
    query: dict[str, str] = field(default_factory=dict)  # the query string (history paging)

    @property
    def channel_id(self) -> int | None:
        raw = self.params.get("channel_id")
        return int(raw) if raw is not None else None


@dataclass(slots=True)
class SimInteraction:
    id: int
    token: str
    type: int  # 2 = application command, 3 = message component
    channel_id: int
    user: SimUser
    data: JsonDict
    guild_id: int | None = None
    message_id: int | None = None  # the message whose component was clicked
    created: float = 0.0  # the simulator's clock when it was created (the 3 s deadline)
    responses: list[JsonDict] = field(default_factory=list)  # callback bodies received
    # ``@original``: the message a type 4/5 response created, or for a component's 6/7 the
    # message the component is on.
    original_message_id: int | None = None
    modal: JsonDict | None = None  # the popup a type 9 response opened, until submitted

    @property
    def acknowledged(self) -> bool:
        return bool(self.responses)
