"""Discord as a :class:`~core.context.source.ContextSource`: a thread's earlier messages, a
reply's chain, and the attachments users send.

- A turn in a thread that existed before it: the thread's history, newest first, through
  discord.py's ``history(before=, after=, limit=)`` (discord-api-docs Resources > Message,
  "Get Channel Messages": ``before`` / ``after`` / ``around`` a snowflake, ``limit`` 1-100,
  default 50, newest first; needs VIEW_CHANNEL and READ_MESSAGE_HISTORY, else 403 / 50001
  "Missing Access" or 50013). At most ``_MAX_READ`` messages are read, stopping at the last
  message the session was given; the newest ``limit`` are kept, the rest counted as left out.
- A turn outside a thread (the bot opened the thread on this very message, a plain channel,
  a DM) that replies to a message: the reply chain, one "Get Channel Message" per hop
  (``message_reference.message_id``), at most ``limit`` hops.
- Without the privileged Message Content intent, Discord empties ``content``, ``embeds``,
  ``attachments`` of other users' messages in REST answers too (discord-api-docs Topics >
  Gateway, "Message Content Intent": the fields are empty "across the API", except the
  app's own messages, DMs and messages that mention it): such messages arrive empty and are
  dropped by :func:`core.context.bounds.bound`, never sent as empty context.
- A thread started from a message opens with a THREAD_STARTER_MESSAGE (type 21) whose
  ``referenced_message`` is that message, in the parent channel (discord-api-docs Topics >
  Threads, "New Message Types"; Resources > Message, Message Structure note 4): the thread
  is about it, so it is given first, as its author wrote it, at no extra call.

Attachments are fetched only from the URLs Discord gave, on its CDN hosts (or the host of
``DISCORD_API_URL`` when set, as with the simulator); Discord's attachment URLs are signed,
so no credential is sent.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import discord

from adapters.discord.markup import readable
from adapters.discord.refs import guild_id
from core.context.models import EarlierMessage
from core.context.source import Earlier, FileRefused, FileRequest
from core.turn import Attachment, Turn

__all__ = ["CDN_HOSTS", "DiscordContext"]

log = logging.getLogger(__name__)

CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})
_MAX_READ = 1_000  # ten pages of 100
_ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class DiscordContext:
    """Reads history through the bot's discord.py client."""

    def __init__(self, client: discord.Client, *, rest_base: str | None = None) -> None:
        self.client = client
        hosts: set[tuple[str, str, int | None]] = {("https", host, None) for host in CDN_HOSTS}
        if rest_base:
            base = urlsplit(rest_base)
            hosts.add((base.scheme, (base.hostname or "").lower(), base.port))
        self.file_hosts = frozenset(hosts)

    async def earlier(self, turn: Turn, *, after: str | None, limit: int) -> Earlier:
        where = turn.where
        try:
            if where.thread is not None and where.thread != turn.message_id:
                return await self._thread(self._channel(turn, where.channel), turn, after, limit)
            if turn.reply_to is not None:
                channel = self._channel(turn, turn.parent or where.channel)
                return await self._chain(channel, int(turn.reply_to), after, limit)
        except (discord.HTTPException, ValueError) as exc:
            return Earlier(problem=f"Discord history: {exc}")
        return Earlier()

    def _channel(self, turn: Turn, channel: str) -> discord.PartialMessageable:
        """``channel`` of ``turn``'s server: its messages then name the server's channels
        and roles their markup points at (:func:`readable`)."""
        guild = guild_id(turn.where)
        return self.client.get_partial_messageable(int(channel), guild_id=guild)

    async def _thread(
        self, channel: discord.PartialMessageable, turn: Turn, after: str | None, limit: int
    ) -> Earlier:
        newest_first: list[discord.Message] = []
        read = 0
        async for message in channel.history(
            limit=_MAX_READ,
            before=discord.Object(int(turn.message_id)),
            after=discord.Object(int(after)) if after else None,
            oldest_first=False,
        ):
            if message.type is discord.MessageType.thread_starter_message:
                starter = _starter(message, after)
                if starter is None:
                    continue
                message = starter
            if message.type not in _ANSWERED_TYPES:
                continue  # a system message (a pin, a rename): nobody said it, none left out
            read += 1
            if len(newest_first) < limit:
                newest_first.append(message)
        kept = [self._message(m) for m in reversed(newest_first)]
        return Earlier(tuple(kept), unseen=read - len(newest_first))

    async def _chain(
        self, channel: discord.PartialMessageable, first: int, after: str | None, limit: int
    ) -> Earlier:
        chain: list[EarlierMessage] = []
        next_id: int | None = first
        floor = int(after) if after else 0
        while next_id is not None and next_id > floor and len(chain) < limit:
            try:
                message = await channel.fetch_message(next_id)
            except discord.NotFound:
                break  # a deleted message ends the chain
            chain.append(self._message(message))
            reference = message.reference
            next_id = reference.message_id if reference is not None else None
        chain.reverse()
        return Earlier(tuple(chain))

    def _message(self, message: discord.Message) -> EarlierMessage:
        me = self.client.user
        from_bot = me is not None and message.author.id == me.id
        files = tuple(a.filename for a in message.attachments)
        text = readable(message.content, message)
        return EarlierMessage(str(message.id), message.author.display_name, text, from_bot, files)

    def file_request(self, turn: Turn, attachment: Attachment) -> FileRequest:
        parts = urlsplit(attachment.url)
        host = (parts.hostname or "").lower()
        if (parts.scheme, host, parts.port) not in self.file_hosts:
            log.warning("file %s refused: %s is not Discord's file host", attachment.name, host)
            raise FileRefused("its link is not on Discord's file host")
        return FileRequest(attachment.url)


def _starter(message: discord.Message, after: str | None) -> discord.Message | None:
    """The message a thread was started from, which its THREAD_STARTER_MESSAGE (type 21)
    carries as ``referenced_message``; None when it was deleted, or when the session was
    given it already (the bot opened the thread on the message that addressed it)."""
    reference = message.reference
    resolved = reference.resolved if reference is not None else None
    if not isinstance(resolved, discord.Message):
        return None
    if after is not None and resolved.id <= int(after):
        return None
    return resolved
