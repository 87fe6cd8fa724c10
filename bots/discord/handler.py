"""From a MESSAGE_CREATE to a turn: route it, open a thread if needed, hand it to the core.

:meth:`MessageHandler.on_message` runs inside discord.py's event dispatch, so it only
decides (pure, :mod:`bots.discord.routing`) and spawns a task; the task does the I/O:

1. ``lookup``: a channel missing from the cache is fetched to learn what it is (Discord not
   answering: a mention is answered in place, see :meth:`MessageHandler._lookup`);
2. ``open_thread``: the message id is claimed in Redis first (a gateway redelivery after a
   resume must not open a second thread or answer twice), then a thread is opened on the
   message — it is the conversation from now on; when Discord refuses one, the reply goes
   in the channel, or the user is told by DM (:mod:`bots.discord.fallbacks`);
3. the :class:`~core.turn.Turn` goes to the responder, which dedups on the message id,
   takes the conversation's lock (turns of one thread run in order, across processes) and
   streams the reply. A reply that found no place to show itself is followed by a DM.

A MESSAGE_DELETE (:meth:`MessageHandler.on_deleted`) withdraws the message's question, and
a MESSAGE_DELETE_BULK (a moderator's purge, :meth:`MessageHandler.on_bulk_deleted`) each of
its messages' the same way:
never sent to the agent if it was not yet, its reply stopped if it streams (see
:mod:`bots.discord.deletions` for where).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

import discord

from adapters.discord import DiscordSurface, place
from adapters.discord.refs import PlaceKind
from adapters.discord.surface import ArchiveMinutes
from bots.discord.deletions import asked, withdrawn_places
from bots.discord.fallbacks import Fallbacks
from bots.discord.routing import Route, RouteKind, route_after_lookup, route_message
from bots.discord.texts import FOLLOW_UP_UNREADABLE, ROLE_MENTION_UNREADABLE
from core.errors import PlatformUnavailable, SessionStoreError, SurfaceError, ThreadcastError
from core.ops.tasks import TurnTasks
from core.responder import Responder
from core.turn import Attachment, ThreadRef, Turn

__all__ = ["MessageHandler"]

log = logging.getLogger(__name__)

# The claim that guards opening a thread lives beside the arrival channel's conversation,
# under its own event id, so it never collides with the responder's own dedup.
_CLAIM = "discord:open-thread:{}"
# Without the MESSAGE_CONTENT intent, unreadable follow-ups in the bot's thread get a hint
# at most this often per thread (seconds).
_UNREAD_HINT = "discord:unread-hint"
_UNREAD_HINT_EVERY = 3600


class MessageHandler:
    """Answers the messages :func:`route_message` picks, each in its own task."""

    def __init__(
        self,
        *,
        surface: DiscordSurface,
        responder: Responder,
        tasks: TurnTasks,
        answer_bots: bool = False,
        reads_content: bool = False,
        archive_minutes: ArchiveMinutes = 1440,
    ) -> None:
        """``reads_content``: the client has the MESSAGE_CONTENT intent."""
        self.surface = surface
        self.responder = responder
        self.tasks = tasks
        self.answer_bots = answer_bots
        self.reads_content = reads_content
        self.archive_minutes: ArchiveMinutes = archive_minutes
        self.fallbacks = Fallbacks(surface)

    def on_message(self, message: discord.Message, me: int) -> None:
        """Decide at once; answer in a task (never block the gateway's event handler)."""
        route = route_message(
            message, me=me, answer_bots=self.answer_bots, reads_content=self.reads_content
        )
        if route is None:
            return
        arrived = asyncio.get_running_loop().time()
        self.tasks.spawn(
            self._answer(message, route, me, arrived), name=f"discord-turn-{message.id}"
        )

    def on_deleted(self, deleted: discord.RawMessageDeleteEvent, me: int, asker: str) -> None:
        """A message was deleted: withdraw it in a task (``asker``: its author's id when
        known, else ""; it names a DM conversation under the ``user`` session scope)."""
        where = (deleted.channel_id, deleted.message_id, deleted.guild_id)
        self._deleted(*where, deleted.cached_message, me, asker)

    def on_bulk_deleted(self, deleted: discord.RawBulkMessageDeleteEvent, me: int) -> None:
        """Messages were purged at once (MESSAGE_DELETE_BULK, guild channels only): each is
        withdrawn as if deleted alone."""
        cached = {message.id: message for message in deleted.cached_messages}
        for message_id in sorted(deleted.message_ids):
            where = (deleted.channel_id, message_id, deleted.guild_id)
            self._deleted(*where, cached.get(message_id), me, "")

    def _deleted(
        self,
        channel: int,
        message: int,
        guild: int | None,
        cached: discord.Message | None,
        me: int,
        asker: str,
    ) -> None:
        if cached is not None:
            asker = str(cached.author.id)
        if not asked(cached, me=me, answer_bots=self.answer_bots, reads_content=self.reads_content):
            return
        self.tasks.spawn(
            self._withdraw(channel, message, guild, asker), name=f"discord-withdraw-{message}"
        )

    async def _withdraw(self, channel: int, message: int, guild: int | None, asker: str) -> None:
        stopped = False
        for where in withdrawn_places(channel, message, guild):
            try:
                stopped |= await self.responder.withdraw(
                    where, user=asker, is_dm=guild is None, message_id=str(message)
                )
            except ThreadcastError as exc:
                log.error("could not withdraw the deleted message %s: %s", message, exc)
                return
        log.info("message %s deleted%s", message, ": its reply stopped" if stopped else "")

    async def _answer(
        self, message: discord.Message, route: Route, me: int, arrived: float
    ) -> None:
        kind = route.kind
        channel, guild = message.channel.id, message.guild.id if message.guild else None
        # Access first: nothing is said, and no thread opened, where the user is refused.
        asked = _turn(message, place(_place_kind(kind), channel, guild), route.text, kind)
        admission = self.responder.admit(asked)
        if not admission.allowed:
            # A blank follow-up ("unread") may be meant for the others in the thread:
            # nothing to refuse, and the refusal DM would answer what was not asked.
            if kind != "unread":
                await self.responder.refuse(asked, admission)
            return
        if kind == "unreadable":
            await self._tell(place("channel", channel, guild), ROLE_MENTION_UNREADABLE)
            return
        if kind == "unread":
            if await self._claim(asked.where, _UNREAD_HINT, ttl=_UNREAD_HINT_EVERY):
                await self._tell(asked.where, FOLLOW_UP_UNREADABLE.format(bot=me))
            return
        if kind == "lookup":
            found = await self._lookup(place("channel", channel, guild), route, me)
            if found is None:
                return
            kind = found
        where = place(_place_kind(kind), channel, guild)
        parent = _parent_id(message)
        if kind == "open_thread":
            opened = await self._open_thread(where, message, route.text, arrived)
            if opened is None:
                return
            where, parent = opened, channel
        missing = self.fallbacks.missing_everywhere(where, parent)
        if missing:  # known before the turn: the agent is not asked for nothing
            await self.fallbacks.tell_by_dm(message.author, where, missing)
            return
        # The thread is the conversation; routes and rules count it as its parent channel.
        turn = replace(asked, where=where, parent=str(parent) if parent is not None else None)
        await self.responder.handle(turn, admission=admission)
        missing = self.fallbacks.missing_everywhere(where, parent)
        if missing:
            await self.fallbacks.tell_by_dm(message.author, where, missing)

    async def _tell(self, where: ThreadRef, text: str) -> None:
        """A short note from the bot itself (no agent, no session), through the edit
        scheduler's budgets like a reply's notice; one that cannot be posted is logged."""
        await self.responder.relay.notify(where, text)

    async def _lookup(self, where: ThreadRef, route: Route, me: int) -> RouteKind | None:
        """How to answer in a channel the client has not cached; None: not at all. When
        Discord does not answer the lookup (an outage, a timeout), a mention is answered
        where it was made, as the thread such a channel most likely is (the guild's text
        channels come with GUILD_CREATE; threads, archived ones above all, need not): the
        user is asking the bot. Other messages are left, as when the channel is gone or
        hidden: nobody asked, and the thread may not be the bot's."""
        try:
            channel_kind, owner = await self.surface.requests.describe(where)
        except PlatformUnavailable as exc:
            log.warning("could not look up channel %s: %s", where.channel, exc)
            return "thread" if route.mentioned else None
        except SurfaceError as exc:
            log.warning("could not look up channel %s: %s", where.channel, exc)
            return None
        return route_after_lookup(channel_kind, owner=owner, mentioned=route.mentioned, me=me)

    async def _open_thread(
        self, where: ThreadRef, message: discord.Message, text: str, arrived: float
    ) -> ThreadRef | None:
        """The thread for a mention; None when this message was already handled, or has no
        place to be answered. A thread that cannot be opened → the reply goes in the
        channel (:meth:`Fallbacks.without_thread`)."""
        if not await self._claim(where, _CLAIM.format(message.id)):
            log.info("message %s already handled (redelivered); not answering again", message.id)
            return None
        try:
            return await self.surface.requests.open_thread(
                where,
                message.id,
                text or message.author.display_name,
                auto_archive=self.archive_minutes,
                since=arrived,
            )
        except SurfaceError as exc:
            return await self.fallbacks.without_thread(where, message.author, exc)

    async def _claim(self, where: ThreadRef, event: str, *, ttl: int | None = None) -> bool:
        conversation = self.responder.conversation_of(where, user="", is_dm=False)
        sessions = self.responder.gate.sessions
        try:
            if ttl is None:
                return await sessions.mark_seen(conversation, event)
            return await sessions.mark_seen(conversation, event, ttl=ttl)
        except SessionStoreError as exc:
            # The responder meets the same failure and tells the user; no thread is lost.
            log.warning("dedup claim %s failed: %s", event, exc)
            return True


def _parent_id(message: discord.Message) -> int | None:
    """The channel a message's thread lives in (its replies' detour), if it is in one."""
    channel = message.channel
    return channel.parent_id if isinstance(channel, discord.Thread) else None


def _place_kind(kind: RouteKind) -> PlaceKind:
    if kind == "dm":
        return "dm"
    return "thread" if kind in ("thread", "unread") else "channel"


def _turn(message: discord.Message, where: ThreadRef, text: str, kind: RouteKind) -> Turn:
    """The turn of ``message`` answered in ``where``: its thread's parent channel and the
    author's roles (a server member's) ride along for routes and access rules."""
    author = message.author
    roles: tuple[str, ...] = ()
    if isinstance(author, discord.Member):
        roles = tuple(str(role.id) for role in author.roles)
    parent = _parent_id(message)
    reference = message.reference
    replied = reference.message_id if reference is not None else None
    return Turn(
        where=where,
        user=str(author.id),
        message_id=str(message.id),
        text=text,
        attachments=tuple(_attachment(a) for a in message.attachments),
        is_dm=kind == "dm",
        parent=str(parent) if parent is not None else None,
        roles=roles,
        reply_to=str(replied) if replied is not None else None,
    )


def _attachment(attachment: discord.Attachment) -> Attachment:
    return Attachment(
        name=attachment.filename,
        url=attachment.url,
        mimetype=attachment.content_type or "",
        size=attachment.size,
    )
