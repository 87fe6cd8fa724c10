"""DiscordSurface: the relay's :class:`~core.surface.ChatSurface` over discord.py's REST.

Every call goes to a channel by id (``client.get_partial_messageable``), so nothing needs
to be cached; ``AllowedMentions.none()`` is sent with every message and edit (and set on
the client), so agent output never pings anyone. discord.py's exceptions become
:mod:`core.errors` here (:mod:`adapters.discord.errors`).

Budgets: the relay acquires the channel and bot budgets (:meth:`budget_scopes`) before each
post and edit. The requests the relay does not see — a thread opened for a mention, typing
triggers, the extra messages of a large upload or of a refused embed's text — acquire the
bot budget here, from the same scheduler, so the bot as a whole stays under Discord's
global limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
from collections.abc import Iterator, Sequence
from typing import Literal

import discord
from pydantic import BaseModel

from adapters.discord.budgets import DiscordBudgets
from adapters.discord.embeds import structured_embed
from adapters.discord.errors import CODE_THREAD_EXISTS, discord_errors
from adapters.discord.refs import PLATFORM, ChannelKind, channel_id, guild_id, place
from adapters.discord.stop_button import StopView, stop_template
from adapters.discord.typing_status import TypingIndicator
from adapters.discord.uploads import group_files
from core.errors import RateLimited, SurfaceError
from core.relay.sender import EditBudget
from core.surface import BudgetScope, MessageRef, OutgoingFile, SurfaceAction, SurfaceLimits
from core.turn import ThreadRef

__all__ = [
    "DEFAULT_FILE_LIMIT",
    "DISCORD_LIMITS",
    "ArchiveMinutes",
    "DiscordSurface",
    "thread_name",
]

log = logging.getLogger(__name__)

DEFAULT_FILE_LIMIT = 10 * 1024 * 1024
DISCORD_LIMITS = SurfaceLimits(
    max_message_chars=2000,
    # Discord's edit bucket is per channel (5 per 5 s): one edit a second per message keeps
    # a single streaming reply inside it and is as fast as a reader follows anyway.
    min_edit_interval=1.0,
    max_file_bytes=DEFAULT_FILE_LIMIT,
    max_files_per_message=10,
    streaming_indicator=" ▍",
)
# A typing trigger that cannot get a token this fast is dropped: under load the budget is
# better spent on text, and the indicator is re-triggered a few seconds later anyway.
_TYPING_PATIENCE = 0.5
_THREAD_NAME_MAX = 100

ArchiveMinutes = Literal[60, 1440, 4320, 10080]
"""A thread's ``auto_archive_duration``: the only values Discord accepts."""


class DiscordSurface:
    """Posts, edits, typing, files and embeds in Discord threads and DMs."""

    def __init__(
        self,
        client: discord.Client,
        *,
        budget: EditBudget | None = None,
        budgets: DiscordBudgets | None = None,
        limits: SurfaceLimits = DISCORD_LIMITS,
        call_timeout: float = 30.0,
        typing_every: float = 8.0,
    ) -> None:
        self.client = client
        self.budget = budget
        self.budgets = budgets or DiscordBudgets()
        self.limits = limits
        self.call_timeout = call_timeout
        self._typing = TypingIndicator(self._trigger_typing, every=typing_every)
        self._template: StopView | None = None
        self._quiet = discord.AllowedMentions.none()

    # --- the ChatSurface protocol ----------------------------------------------------------

    def render(self, markdown: str) -> str:
        """Discord speaks Markdown (bold, italics, code, lists, headings, links), so the
        agent's text goes as is: the relay measured its pages on exactly this text."""
        return markdown

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        # Create and edit share Discord's per-channel bucket, so both actions draw on it.
        return (self.budgets.channel(where.channel), self.budgets.bot)

    def file_limit(self, where: ThreadRef) -> int:
        """The guild's upload limit (10 MiB, more on boosted servers); 10 MiB in DMs."""
        guild = _guild(self.client, where)
        return guild.filesize_limit if guild is not None else DEFAULT_FILE_LIMIT

    async def post(self, where: ThreadRef, text: str, *, streaming: bool = False) -> MessageRef:
        channel = self._channel(where)
        self._typing.clear(channel.id)  # Discord ends the indicator when the bot posts
        view = self._stop_view() if streaming else None
        with self._errors(where):
            if view is not None:
                sent = await channel.send(text, allowed_mentions=self._quiet, view=view)
            else:
                sent = await channel.send(text, allowed_mentions=self._quiet)
        return MessageRef(where, str(sent.id))

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        target = self._channel(message.where).get_partial_message(int(message.message_id))
        with self._errors(message.where):
            if final:  # view=None removes the Stop button
                await target.edit(content=text, allowed_mentions=self._quiet, view=None)
            else:
                await target.edit(content=text, allowed_mentions=self._quiet)

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        # Returns at once: the trigger runs in the indicator's task, never delaying text.
        if status:
            self._typing.start(channel_id(where))
        else:
            self._typing.clear(channel_id(where))

    async def upload(self, where: ThreadRef, files: Sequence[OutgoingFile]) -> None:
        channel = self._channel(where)
        groups = group_files(files, max_files=self.limits.max_files_per_message)
        for index, group in enumerate(groups):
            if index:  # the relay paid for one message; the others pay here
                await self._acquire(where)
            attached = [discord.File(io.BytesIO(f.data), filename=f.name) for f in group]
            with self._errors(where):
                await channel.send(files=attached, allowed_mentions=self._quiet)

    async def post_structured(self, where: ThreadRef, data: BaseModel, fallback: str) -> None:
        channel = self._channel(where)
        try:
            with self._errors(where):
                await channel.send(embed=structured_embed(data), allowed_mentions=self._quiet)
            return
        except SurfaceError as exc:
            if isinstance(exc, RateLimited):
                raise
            log.warning("embed refused (%s); posting the text fallback", exc)
        size = self.limits.max_message_chars
        for start in range(0, len(fallback), size):
            await self._acquire(where)
            with self._errors(where):
                await channel.send(fallback[start : start + size], allowed_mentions=self._quiet)

    # --- beyond the protocol: what the Discord bot needs ------------------------------------

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
        Discord gives a message's thread the message's id."""
        gid = guild_id(where)
        await self._acquire(where, since=since)
        target = self._channel(where).get_partial_message(message_id)
        try:
            with self._errors(where):
                thread = await target.create_thread(
                    name=thread_name(name), auto_archive_duration=auto_archive
                )
        except SurfaceError as exc:
            cause = exc.__cause__
            if isinstance(cause, discord.HTTPException) and cause.code == CODE_THREAD_EXISTS:
                return place("thread", message_id, gid)
            raise
        return place("thread", thread.id, gid)

    async def describe(self, where: ThreadRef) -> tuple[ChannelKind, int | None]:
        """What a channel the client has not cached is (a thread, with its owner; a text
        channel; something else), looked up with one REST call."""
        await self._acquire(where, urgent=False)
        with self._errors(where):
            channel = await self.client.fetch_channel(channel_id(where))
        if isinstance(channel, discord.Thread):
            return "thread", channel.owner_id
        return ("text" if isinstance(channel, discord.TextChannel) else "other"), None

    async def aclose(self) -> None:
        """Stop every typing indicator (on shutdown)."""
        await self._typing.aclose()

    # --- plumbing ---------------------------------------------------------------------------

    def _channel(self, where: ThreadRef) -> discord.PartialMessageable:
        if where.platform != PLATFORM:
            raise SurfaceError(f"not a Discord place: {where}")
        return self.client.get_partial_messageable(channel_id(where), guild_id=guild_id(where))

    def _stop_view(self) -> StopView:
        if self._template is None:
            self._template = stop_template()
        return self._template

    @contextlib.contextmanager
    def _errors(self, where: ThreadRef) -> Iterator[None]:
        with discord_errors(
            channel_scope=self.budgets.channel(where.channel).key, bot_scope=self.budgets.bot.key
        ):
            yield

    async def _acquire(
        self, where: ThreadRef, *, urgent: bool = True, since: float | None = None
    ) -> None:
        """Take a token of the bot budget for a request the relay does not pace."""
        if self.budget is None:
            return
        now = asyncio.get_running_loop().time()
        await self.budget.acquire([self.budgets.bot], urgent=urgent, since=since or now)

    async def _trigger_typing(self, channel: int) -> None:
        where = ThreadRef(PLATFORM, "typing", str(channel))
        if self.budget is not None:
            try:
                async with asyncio.timeout(_TYPING_PATIENCE):
                    await self._acquire(where, urgent=False)
            except TimeoutError:
                return  # the budget is busy with text: skip this trigger
        try:
            async with asyncio.timeout(self.call_timeout):
                await self.client.get_partial_messageable(channel).typing()
        except (discord.DiscordException, OSError) as exc:
            log.debug("typing failed in %s: %r", channel, exc)


def thread_name(text: str) -> str:
    """A valid thread name (1-100 chars, one line) from a message's text."""
    name = " ".join(text.split())
    if len(name) > _THREAD_NAME_MAX:
        name = name[: _THREAD_NAME_MAX - 1].rstrip() + "…"
    return name or "Conversation"


def _guild(client: discord.Client, where: ThreadRef) -> discord.Guild | None:
    gid = guild_id(where)
    return client.get_guild(gid) if gid is not None else None
