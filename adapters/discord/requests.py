"""Every REST call the Discord surface makes: by channel id (nothing needs to be cached),
``AllowedMentions.none()`` on every message, discord.py's exceptions translated into
:mod:`core.errors` (:mod:`adapters.discord.errors`).

Budgets: the relay acquires the channel and bot budgets before each post and edit it makes.
The requests it does not see — a thread opened for a mention, typing triggers, the extra
messages of a large upload or of a refused embed's text, a hint, an unarchive, a lookup —
take a token of the bot budget here (:meth:`DiscordRequests.acquire`), from the same
scheduler (:class:`~adapters.discord.budgets.DiscordBudget`), so the bot as a whole stays
under Discord's global limit.

Timeouts: discord.py keeps aiohttp's default session timeout (300 s in all), so a Discord
that takes a request and then stalls would hold the call five minutes. A reply's posts and
edits are bounded by the relay (``Sender``); the calls made before a reply starts, and the
notes and DMs beside it, are bounded here by ``call_timeout`` (:meth:`DiscordRequests.bounded`)
and then fail as :class:`~core.errors.PlatformUnavailable`, which their callers answer with
a fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Literal, cast

import discord
from pydantic import BaseModel

from adapters.discord import texts
from adapters.discord.budgets import DiscordBudget
from adapters.discord.embeds import structured_embed
from adapters.discord.errors import CODE_THREAD_EXISTS, MissingPermission, discord_errors
from adapters.discord.permissions import ATTACH_FILES, CREATE_PUBLIC_THREADS
from adapters.discord.refs import PLATFORM, ChannelKind, channel_id, guild_id, place
from adapters.discord.stop_button import StopView
from core.errors import PlatformUnavailable, SurfaceError
from core.surface import MessageRef, OutgoingFile, Upload
from core.turn import ThreadRef

__all__ = ["ArchiveMinutes", "DiscordRequests", "check_platform", "part_nonce", "thread_name"]

log = logging.getLogger(__name__)

# A typing trigger that cannot get a token this fast is dropped: under load the budget is
# better spent on text, and the indicator is re-triggered a few seconds later anyway.
_TYPING_PATIENCE = 0.5
_THREAD_NAME_MAX = 100

ArchiveMinutes = Literal[60, 1440, 4320, 10080]
"""A thread's ``auto_archive_duration``: the only values Discord accepts."""


class DiscordRequests:
    """The calls; see the module docstring."""

    def __init__(
        self,
        client: discord.Client,
        *,
        budget: DiscordBudget,
        call_timeout: float,
    ) -> None:
        self.client = client
        self.budget = budget
        self.call_timeout = call_timeout
        self._quiet = discord.AllowedMentions.none()

    # --- messages ----------------------------------------------------------------------------

    async def send(
        self,
        where: ThreadRef,
        text: str,
        *,
        view: discord.ui.View | None = None,
        nonce: str | None = None,
    ) -> MessageRef:
        """Create a message. ``nonce``: the same on every try of one post, so a try that
        landed while its answer was lost (a timeout) is not created twice: discord.py sends
        a nonce with ``enforce_nonce: true`` (discord/http.py ``handle_message_parameters``;
        without one, ``Messageable.send`` draws a random nonce per call, which dedupes
        nothing across retries), and Discord then returns the message the same author
        created with that nonce in the past few minutes instead of creating another
        (discord-api-docs, Resources > Message, Create Message: ``enforce_nonce``)."""
        channel = self.channel(where)
        extra: dict[str, Any] = {} if view is None else {"view": view}
        if nonce is not None:
            extra["nonce"] = nonce
        with self.errors(where):
            sent = await channel.send(text, allowed_mentions=self._quiet, **extra)
        if nonce is not None and (
            sent.content != text or bool(sent.components) != (view is not None)
        ):
            # Discord returned an earlier try of this post, made with another text (the
            # reply grew before it was sent again): this post's text and controls, on it.
            final = None if isinstance(view, StopView) else view  # the feedback's, on it
            await self.edit(where, sent.id, text, final=view is None, view=final)
        return MessageRef(where, str(sent.id))

    async def edit(
        self,
        where: ThreadRef,
        message_id: int,
        text: str,
        *,
        final: bool,
        view: discord.ui.View | None = None,
    ) -> None:
        target = self.channel(where).get_partial_message(message_id)
        with self.errors(where):
            if view is not None:  # the final text with other buttons (feedback)
                await target.edit(content=text, allowed_mentions=self._quiet, view=view)
            elif final:  # view=None removes the Stop button
                await target.edit(content=text, allowed_mentions=self._quiet, view=None)
            else:
                await target.edit(content=text, allowed_mentions=self._quiet)

    async def send_files(
        self, where: ThreadRef, groups: Sequence[Sequence[OutgoingFile]], upload: Upload
    ) -> None:
        """One message per group; the relay paid for the first sent, the others pay here.
        ``upload.key``: each group's message carries a nonce of its own derived from it, enforced
        as :meth:`send`'s (the nonce is a Create Message JSON param, sent in the multipart
        request's ``payload_json`` with the files: discord-api-docs, Reference > Uploading
        Files; discord.py's ``handle_message_parameters`` puts it there with
        ``enforce_nonce``), so a retried upload whose answer was lost returns the message
        that carries the files instead of attaching them again.
        ``upload.landed``: raised to count each group's files once its message is created,
        so the caller knows them to be in the thread even when its timeout cuts the upload
        off while a later message is on its way; a retry (the same ``upload``) starts after
        the groups it counts, which are not sent again."""
        channel = self.channel(where)
        done = upload.landed
        landed = 0  # the files of the groups before this one
        paid = True  # the relay paid for the first message this call sends
        for index, group in enumerate(groups):
            landed += len(group)
            if landed <= done:
                continue  # created on an earlier try
            once = _nonce(part_nonce(upload.key, "f", index))
            # discord.py streams a file object into its multipart body (aiohttp reads it in
            # blocks) and rewinds it itself on a retry; it never closes one it did not open.
            attached = [discord.File(_readable(f), filename=f.name) for f in group]
            try:
                if not paid:
                    await self.acquire(where)
                paid = False
                with self.errors(where):
                    await channel.send(files=attached, allowed_mentions=self._quiet, **once)
            except MissingPermission as failed:
                failed.permission = ATTACH_FILES  # text went through here before
                failed.reason = texts.MISSING_FILE_PERMISSION.format(permission=ATTACH_FILES)
                raise
            upload.landed = max(upload.landed, landed)

    async def send_embed(self, where: ThreadRef, data: BaseModel, *, nonce: str | None) -> None:
        """``nonce``: the same on every try, enforced (as :meth:`send`'s)."""
        with self.errors(where):
            await self.channel(where).send(
                embed=structured_embed(data), allowed_mentions=self._quiet, **_nonce(nonce)
            )

    async def messages_after(self, where: ThreadRef, after: int | None) -> list[dict[str, Any]]:
        """Up to 100 messages of ``where`` newer than the message ``after`` (raw JSON, as
        Discord sends them: newest first). Paced on the bot budget (a request the relay
        does not see); see :mod:`adapters.discord.lost_posts`."""
        await self.acquire(where)
        with self.errors(where):
            found: list[Any] = await self.client.http.logs_from(channel_id(where), 100, after=after)
        return [m for m in found if isinstance(m, dict)]

    async def message(self, where: ThreadRef, message_id: int) -> dict[str, Any]:
        """One message of ``where`` (raw JSON): "Get Channel Message" (discord-api-docs,
        Resources > Message; READ_MESSAGE_HISTORY in a guild). Not paced here: its caller
        draws on the bot budget (the surface's ``budget_scopes(where, "read")``). A deleted
        message raises :class:`~core.errors.MessageGone`."""
        with self.errors(where):
            found: Any = await self.client.http.get_message(channel_id(where), message_id)
        return found if isinstance(found, dict) else {}

    # --- threads -----------------------------------------------------------------------------

    async def open_thread(
        self,
        where: ThreadRef,
        message_id: int,
        name: str,
        *,
        auto_archive: ArchiveMinutes,
        since: float,
    ) -> ThreadRef:
        """Open a thread on a user's message in ``where`` (a text channel); the thread's
        place. A thread already opened on that message (a redelivered event) is reused:
        Discord gives a message's thread the message's id.

        A create that times out may still have opened the thread: the caller answers in the
        channel (``Fallbacks.without_thread``: an outage is not a refusal, so without a
        note), and a thread Discord did open stays empty on the message; the message's
        claim keeps a redelivery from trying again, so the reply is given once. Not retried
        here: a Discord that stalled once would likely hold the retry as long, and the
        answer with it."""
        gid = guild_id(where)
        await self.acquire(where, since=since)
        target = self.channel(where).get_partial_message(message_id)
        try:
            async with self.bounded(where):
                thread = await target.create_thread(
                    name=thread_name(name), auto_archive_duration=auto_archive
                )
        except MissingPermission as refused:
            refused.permission = CREATE_PUBLIC_THREADS
            raise
        except SurfaceError as exc:
            cause = exc.__cause__
            if isinstance(cause, discord.HTTPException) and cause.code == CODE_THREAD_EXISTS:
                return place("thread", message_id, gid)
            raise
        return place("thread", thread.id, gid)

    async def unarchive(self, thread: ThreadRef) -> None:
        """Unarchive a thread so its messages can be edited again ("only requires the
        current user has already been added to the thread", Topics > Threads). One PATCH
        through discord.py's HTTP client: an archived thread is no longer in its cache."""
        await self.acquire(thread)
        with self.errors(thread):
            await self.client.http.edit_channel(channel_id(thread), archived=False)

    async def parent_of(self, thread: ThreadRef) -> ThreadRef | None:
        """The text channel a thread lives in (from the cache, else one lookup); None for
        a forum's post, whose forum takes no messages of its own (400 / 50008)."""
        found = self.client.get_channel(channel_id(thread))
        if not isinstance(found, discord.Thread):
            try:
                await self.acquire(thread, urgent=False)
                async with self.bounded(thread):
                    found = await self.client.fetch_channel(channel_id(thread))
            except SurfaceError as exc:
                log.warning("could not look up thread %s: %s", thread.channel, exc)
                return None
        if not isinstance(found, discord.Thread) or found.parent_id is None:
            return None
        if isinstance(found.parent, discord.ForumChannel):  # media channels are too
            return None
        return place("channel", found.parent_id, guild_id(thread))

    async def describe(self, where: ThreadRef) -> tuple[ChannelKind, int | None]:
        """What a channel the client has not cached is (a thread, with its owner; a text
        channel; something else), looked up with one REST call."""
        await self.acquire(where, urgent=False)
        async with self.bounded(where):
            channel = await self.client.fetch_channel(channel_id(where))
        if isinstance(channel, discord.Thread):
            return "thread", channel.owner_id
        return ("text" if isinstance(channel, discord.TextChannel) else "other"), None

    async def trigger_typing(self, channel: int) -> None:
        where = ThreadRef(PLATFORM, "typing", str(channel))
        try:
            async with asyncio.timeout(_TYPING_PATIENCE):
                await self.acquire(where, urgent=False)
        except TimeoutError:
            return  # the budget is busy with text: skip this trigger
        try:
            async with asyncio.timeout(self.call_timeout):
                await self.client.get_partial_messageable(channel).typing()
        except (discord.DiscordException, OSError) as exc:
            log.debug("typing failed in %s: %r", channel, exc)

    # --- plumbing ----------------------------------------------------------------------------

    def channel(self, where: ThreadRef) -> discord.PartialMessageable:
        check_platform(where)
        return self.client.get_partial_messageable(channel_id(where), guild_id=guild_id(where))

    @contextlib.contextmanager
    def errors(self, where: ThreadRef) -> Iterator[None]:
        with discord_errors(
            channel_scope=self.budget.channel(where.channel).key, bot_scope=self.budget.bot.key
        ):
            yield

    @contextlib.asynccontextmanager
    async def bounded(self, where: ThreadRef) -> AsyncIterator[None]:
        """:meth:`errors`, and no answer within ``call_timeout`` is PlatformUnavailable
        (see the module docstring). One call per block: the bound is one call's."""
        with self.errors(where):
            limit = asyncio.timeout(self.call_timeout)
            try:
                async with limit:
                    yield
            except TimeoutError as exc:
                if not limit.expired():
                    raise  # a timeout from below (aiohttp's own): errors() translates it
                raise PlatformUnavailable(
                    f"Discord did not answer within {self.call_timeout:g} s"
                ) from exc

    async def acquire(
        self, where: ThreadRef, *, urgent: bool = True, since: float | None = None
    ) -> None:
        """Take a token of the bot budget for a request the relay does not pace."""
        now = asyncio.get_running_loop().time()
        await self.budget.take_bot(urgent=urgent, since=since or now)


def _readable(file: OutgoingFile) -> io.BufferedIOBase:
    """The file's source, rewound, as discord.File takes it (any ``io.IOBase`` that can
    read and seek: a spooled temporary file is one)."""
    return cast(io.BufferedIOBase, file.rewound())


def part_nonce(key: str | None, kind: str, index: int) -> str | None:
    """The nonce of one message of a keyed upload or structured post (``kind``: ``f`` a
    group of files, ``e`` the embed, ``t`` a page of its text fallback): the same on every
    try, distinct from the others'. A :func:`core.surface.post_key` is 16 characters, so it
    stays within Discord's 25 (discord-api-docs, Create Message: ``nonce``)."""
    if key is None:
        return None
    return f"{key}{kind}{index}"


def _nonce(nonce: str | None) -> dict[str, Any]:
    """``channel.send``'s keywords for ``nonce`` (none when there is none)."""
    return {} if nonce is None else {"nonce": nonce}


def thread_name(text: str) -> str:
    """A valid thread name (1-100 chars, one line) from a message's text."""
    name = " ".join(text.split())
    if len(name) > _THREAD_NAME_MAX:
        name = name[: _THREAD_NAME_MAX - 1].rstrip() + "…"
    return name or "Conversation"


def check_platform(where: ThreadRef) -> None:
    if where.platform != PLATFORM:
        raise SurfaceError(f"not a Discord place: {where}")
