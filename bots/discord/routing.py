"""Which Discord messages are answered, where, and with what text: one pure decision.

- Ignored: our own messages, other bots' (unless ``answer_bots``), system messages (joins,
  pins, thread-created notices…: anything but a default message or a reply), and guild
  messages that neither mention the bot nor sit in a thread it may own.
- A DM → answered in the DM channel.
- A mention in a text channel → a thread is opened on the message (``open_thread``).
- A mention in a thread → answered in that thread, whoever owns it.
- A reply to one of the bot's messages is a mention, even with the reply's ping turned off
  (the bot is then missing from ``mentions``).
- No mention in a thread the bot owns → answered (``thread``), unless it arrived blank:
  without the MESSAGE_CONTENT intent such follow-ups carry no text at all (``unread``: the
  user is told, once in a while, to mention the bot or reply to it).
- A mention of the bot's managed role that arrived blank → ``unreadable``: Discord sends the
  text of a role mention only with the MESSAGE_CONTENT intent (a direct mention is exempt),
  so the user is told to mention the bot itself instead of getting an "empty message" reply.
- A channel missing from the cache (rare: guilds and active threads arrive with the
  gateway's GUILD_CREATE) → ``lookup``: fetch what it is, then :func:`route_after_lookup`.

Edits never reach this: the bot does not listen to MESSAGE_UPDATE.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import discord

from adapters.discord.markup import readable
from adapters.discord.refs import ChannelKind

__all__ = [
    "Route",
    "RouteKind",
    "agent_text",
    "is_mentioned",
    "replies_to",
    "route_after_lookup",
    "route_message",
]

RouteKind = Literal["dm", "thread", "open_thread", "channel", "lookup", "unreadable", "unread"]

_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)
_SPACES = re.compile(r"[ \t]{2,}")


@dataclass(frozen=True, slots=True)
class Route:
    """What to do with a message: ``kind`` (see the module docstring) and the agent's text."""

    kind: RouteKind
    text: str
    mentioned: bool = False


def route_message(
    message: discord.Message, *, me: int, answer_bots: bool, reads_content: bool = True
) -> Route | None:
    """The route of ``message``, or None when it is not ours to answer; ``reads_content``:
    the bot has the MESSAGE_CONTENT intent."""
    author = message.author
    if author.id == me or message.type not in _ANSWERED_TYPES:
        return None
    if (author.bot or message.webhook_id is not None) and not answer_bots:
        return None
    roles = _my_roles(message)
    mentioned = is_mentioned(message, me, roles)
    text = agent_text(message, me, roles)
    channel = message.channel
    if isinstance(channel, discord.DMChannel) or message.guild is None:
        return Route("dm", text, mentioned)
    # Sticker items arrive even without MESSAGE_CONTENT, but then the text beside them may
    # have been blanked: only with the intent is a sticker alone something to answer.
    if _blank(message) and not (reads_content and message.stickers):
        # Only a role mention arrives blank: tell the user how to reach us. Without the
        # MESSAGE_CONTENT intent, Discord blanks follow-ups that do not mention us: there
        # is nothing to answer (and an "empty message" reply would be noise), but in our
        # own thread the user is talking to us and must learn why we stay silent.
        if mentioned:
            return Route("unreadable", "", mentioned)
        ours = isinstance(channel, discord.Thread) and channel.owner_id == me
        return Route("unread", "") if ours and not reads_content else None
    # A reply to one of our messages is meant for us, pinging us or not.
    addressed = mentioned or replies_to(message, me)
    if isinstance(channel, discord.Thread):
        kind: ChannelKind = "thread"
        owner = channel.owner_id
    elif isinstance(channel, discord.PartialMessageable):
        return Route("lookup", text, addressed)  # not cached: what is it?
    else:
        kind = "text" if isinstance(channel, discord.TextChannel) else "other"
        owner = None
    found = route_after_lookup(kind, owner=owner, mentioned=addressed, me=me)
    return None if found is None else Route(found, text, addressed)


def replies_to(message: discord.Message, me: int) -> bool:
    """Whether ``message`` is a reply to one of our messages. The client's "@ OFF" toggle
    leaves us out of ``mentions``; the replied-to message still comes with the reply
    (``referenced_message``, discord-api-docs Resources > Message), or is in discord.py's
    cache of recent messages."""
    reference = message.reference
    if reference is None or message.type is not discord.MessageType.reply:
        return False
    replied = reference.resolved
    if not isinstance(replied, discord.Message):
        replied = reference.cached_message
    return replied is not None and replied.author.id == me


def route_after_lookup(
    kind: ChannelKind, *, owner: int | None, mentioned: bool, me: int
) -> RouteKind | None:
    """Where a guild message is answered, once its channel's kind (and owner) is known."""
    if kind == "thread":
        return "thread" if mentioned or owner == me else None
    if not mentioned:
        return None
    # Voice, stage and forum chats cannot hold threads opened from a message.
    return "open_thread" if kind == "text" else "channel"


def is_mentioned(message: discord.Message, me: int, roles: Iterable[int] = ()) -> bool:
    """The bot is mentioned directly, or through its own managed role; ``@everyone`` is not
    a mention of the bot."""
    if me in message.raw_mentions or any(user.id == me for user in message.mentions):
        return True
    mine = set(roles)
    # ``role_mentions`` comes from the payload's ``mention_roles``, which Discord sends even
    # when it blanks the content; ``raw_role_mentions`` is parsed from the content.
    return bool(mine & set(message.raw_role_mentions)) or any(
        role.id in mine for role in message.role_mentions
    )


def agent_text(message: discord.Message, me: int, roles: Iterable[int] = ()) -> str:
    """The message's text for the agent: the bot's mentions removed, the rest of Discord's
    markup (other users, channels, roles, emoji, timestamps) as the user saw it
    (:func:`~adapters.discord.markup.readable`), stickers by name, and a forum post's title
    before its first message."""
    text = message.content
    text = re.sub(rf"<@!?{me}>", "", text)
    for role in roles:
        text = text.replace(f"<@&{role}>", "")
    text = readable(text, message)
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    # A sticker is what the user said, too (``sticker_items``: discord-api-docs
    # Resources > Message): the agent gets its name.
    stickers = " ".join(f"[sticker: {sticker.name}]" for sticker in message.stickers)
    text = "\n".join([*lines, stickers]).strip()
    channel = message.channel
    if isinstance(channel, discord.Thread) and channel.id == message.id:
        # A forum (or media) post's first message has its thread's id (discord.py
        # ``Thread.starter_message``); the post's title is the thread's name, not in the
        # message: the question is often there.
        return f"{channel.name}\n\n{text}".strip()
    return text


def _blank(message: discord.Message) -> bool:
    return not message.content.strip() and not message.attachments


def _my_roles(message: discord.Message) -> tuple[int, ...]:
    """The bot's managed role in this guild (mentioning it is mentioning the bot)."""
    guild = message.guild
    role = guild.self_role if guild is not None else None
    return (role.id,) if role is not None else ()
