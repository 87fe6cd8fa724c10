"""DiscordSurface: the relay's :class:`~core.surface.ChatSurface` over discord.py's REST.

The calls themselves (by channel id, no pings, errors translated, extra requests paced on
the bot budget) are :class:`~adapters.discord.requests.DiscordRequests`; this class decides
where a reply goes and what to do when Discord refuses (the bookkeeping is
:class:`~adapters.discord.reach.Reach`):

- posting in a thread refused for a missing permission → the reply goes to the thread's
  parent channel, after a hint naming the permission (once per channel); refused there too,
  or in a plain channel → :class:`MissingPermission` naming it, and :attr:`on_unusable`;
- a thread archived (50083) while its message is edited → unarchived, the edit made again;
- a thread locked by a moderator (160005 on a post or an edit; a post in a thread both
  locked and archived is refused as archived, 50083, since posting unarchives only unlocked
  threads) → the reply goes on in the thread's parent channel, after a note saying so
  (once per channel; a forum post's forum takes no messages: the reply ends there); an
  edit refused so is a ``MessageGone``, the relay's next post detours;
- an hour-old message that takes no more edits (30046) → ``EditLimitReached``, a
  ``MessageGone``: the relay continues in a new message;
- the bot may not view the place any more (50001, its View Channel taken away) → an edit
  there is a ``MessageGone``; the relay's next post meets it too and goes as a missing
  permission does (the parent, else :attr:`on_unusable`, the bot then telling the user);
- a deleted thread (10003) → ``ChannelGone`` (a ``MessageGone``) and :attr:`on_unusable`;
  later calls there fail at once, without a request.

Budgets: the relay acquires the channel and bot budgets (:meth:`budget_scopes`) before each
post and edit; the surface's own extra requests take bot tokens from the same
:class:`~adapters.discord.budgets.DiscordBudget` (the one budget argument: the process's
scheduler and Discord's rates).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import discord
from pydantic import BaseModel

from adapters.discord import texts
from adapters.discord.budgets import DiscordBudget
from adapters.discord.errors import (
    ChannelGone,
    EditLimitReached,
    MissingAccess,
    MissingPermission,
    ThreadArchived,
    ThreadLocked,
)
from adapters.discord.feedback_buttons import FeedbackView, feedback_template
from adapters.discord.lost_posts import find_open_post, is_open
from adapters.discord.markdown import to_discord
from adapters.discord.permissions import to_send
from adapters.discord.private import tell_privately
from adapters.discord.reach import Reach
from adapters.discord.refs import channel_id, guild_id
from adapters.discord.requests import (
    ArchiveMinutes,
    DiscordRequests,
    check_platform,
    part_nonce,
    thread_name,
)
from adapters.discord.stop_button import StopView, stop_template
from adapters.discord.typing_status import TypingIndicator
from adapters.discord.uploads import MAX_REQUEST_BYTES, group_files
from core.errors import MessageGone, PlatformUnavailable, RateLimited, SurfaceError
from core.relay.pages import split_whole
from core.surface import (
    BudgetScope,
    LostPost,
    MessageRef,
    OutgoingFile,
    SurfaceAction,
    SurfaceLimits,
    Upload,
)
from core.turn import ThreadRef

__all__ = [
    "DEFAULT_FILE_LIMIT",
    "DISCORD_LIMITS",
    "ArchiveMinutes",
    "DiscordSurface",
    "thread_name",
]

log = logging.getLogger(__name__)

DEFAULT_FILE_LIMIT = MAX_REQUEST_BYTES  # an unboosted server's, and DMs': one owner
DISCORD_LIMITS = SurfaceLimits(
    max_message_chars=2000,
    # Discord's edit bucket is per channel (5 per 5 s): one edit a second per message keeps
    # a single streaming reply inside it and is as fast as a reader follows anyway.
    min_edit_interval=1.0,
    max_file_bytes=DEFAULT_FILE_LIMIT,
    max_files_per_message=10,
    streaming_indicator=" ▍",
)


class DiscordSurface:
    """Posts, edits, typing, files and embeds in Discord threads and DMs."""

    def __init__(
        self,
        client: discord.Client,
        *,
        budget: DiscordBudget,
        limits: SurfaceLimits = DISCORD_LIMITS,
        call_timeout: float = 30.0,
        typing_every: float = 8.0,
        reach: Reach | None = None,
    ) -> None:
        self.client = client
        self.budget = budget
        self.limits = limits
        self.requests = DiscordRequests(client, budget=budget, call_timeout=call_timeout)
        self.reach = reach or Reach()
        self.on_unusable: Callable[[ThreadRef], None] | None = None
        """Called with a reply's place once nothing can be shown there any more (deleted,
        or posting refused with nowhere to go): the bot ends the turn there."""
        self._typing = TypingIndicator(self.requests.trigger_typing, every=typing_every)
        # The buttons' views, made on first use: a view must be made inside the running loop.
        self._stop_template: StopView | None = None
        self._feedback_template: FeedbackView | None = None

    # --- the ChatSurface protocol ----------------------------------------------------------

    def render(self, markdown: str) -> str:
        """Discord speaks a subset of Markdown (bold, italics, code, lists, headings to
        ``###``, links): what it lacks (tables, deeper headings, rules, images) is rewritten
        into it (:mod:`adapters.discord.markdown`); the relay measures its pages on this."""
        return to_discord(markdown)

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        # Create and edit share Discord's per-channel bucket, so both actions draw on it; a
        # read (Get Channel Message) is another route: only the bot's global budget.
        if action == "read":
            return (self.budget.bot,)
        return (self.budget.channel(where.channel), self.budget.bot)

    def file_limit(self, where: ThreadRef) -> int:
        """The guild's upload limit (10 MiB, more on boosted servers); 10 MiB in DMs. It
        counts all the files of one message together."""
        gid = guild_id(where)
        guild = self.client.get_guild(gid) if gid is not None else None
        return guild.filesize_limit if guild is not None else DEFAULT_FILE_LIMIT

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        """Post in ``where`` — or where its replies are detoured (see the module docstring);
        the returned ref names the place the message is really in, so edits follow it.
        ``key`` is sent as the message's nonce, enforced (see :meth:`DiscordRequests.send`):
        a retry of a post that landed returns that message instead of a second one."""
        return await self._post(where, text, self._stop_view() if streaming else None, key)

    async def post_feedback(
        self, where: ThreadRef, text: str, *, key: str | None = None
    ) -> MessageRef:
        """A final post of ``text`` with 👍 / 👎 under it (as :meth:`post`)."""
        return await self._post(where, text, self._feedback_view(), key)

    async def offer_feedback(self, message: MessageRef, text: str) -> None:
        """The final edit of ``message`` (as :meth:`edit` with ``final``), with 👍 / 👎
        under ``text``."""
        await self._edit(message, text, final=True, view=self._feedback_view())

    async def _post(
        self, where: ThreadRef, text: str, view: discord.ui.View | None, key: str | None
    ) -> MessageRef:
        target = self._route(where)
        while True:
            self._typing.clear(channel_id(where))  # Discord ends the indicator on a post
            try:
                return await self.requests.send(target, text, view=view, nonce=key)
            except MissingPermission as refused:
                refused.permission = refused.permission or to_send(target)
                self.reach.refuse(channel_id(target), refused.permission)
                hint = texts.DETOUR.format(thread=where.channel, permission=refused.permission)
                detour = await self._detour(where, target, refused.permission, hint)
                if detour is None:
                    raise
                target = detour
            except (ThreadLocked, ThreadArchived):
                # Posting unarchives a thread unless it is locked: either way, locked.
                hint = texts.LOCKED.format(thread=where.channel)
                detour = await self._detour(where, target, f"locked {where.channel}", hint)
                if detour is None:
                    raise
                target = detour
            except ChannelGone:
                self._gone(target)
                raise

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        await self._edit(message, text, final=final)

    async def _edit(
        self,
        message: MessageRef,
        text: str,
        *,
        final: bool,
        view: discord.ui.View | None = None,
    ) -> None:
        """``view``: the final text with those buttons (the feedback controls)."""
        where, message_id = message.where, int(message.message_id)
        self._check_not_gone(where)
        if self.reach.is_frozen(message_id):
            raise EditLimitReached(f"Discord takes no more edits of message {message_id}")
        try:
            await self._edit_unarchiving(where, message_id, text, final=final, view=view)
        except (ThreadArchived, ThreadLocked, MissingAccess) as exc:
            # The relay posts anew, and that post finds the way on: archived again
            # meanwhile, posting unarchives it; locked or no longer visible, the post
            # detours (``_post``) or ends the reply.
            raise MessageGone(str(exc)) from exc
        except RateLimited as exc:
            if self.reach.is_frozen(message_id):  # the 429 was Discord's 30046 after all
                raise EditLimitReached(f"Discord takes no more edits of {message_id}") from exc
            raise
        except ChannelGone:
            self._gone(where)
            raise

    async def _edit_unarchiving(
        self,
        where: ThreadRef,
        message_id: int,
        text: str,
        *,
        final: bool,
        view: discord.ui.View | None,
    ) -> None:
        """The edit, made again once the thread is unarchived if it was archived (50083)."""
        try:
            await self.requests.edit(where, message_id, text, final=final, view=view)
        except ThreadArchived:
            await self._unarchive(where)
            await self.requests.edit(where, message_id, text, final=final, view=view)

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        # Returns at once: the trigger runs in the indicator's task, never delaying text.
        if status:
            self._typing.start(channel_id(where))
        else:
            self._typing.clear(channel_id(where))

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        """``upload``: its key is what each message's nonce derives from
        (:func:`adapters.discord.requests.part_nonce`), so a retry returns a group that
        landed unseen instead of attaching it twice; its ``landed`` counts the files of each
        message as it lands, and a retry sends only the groups after them
        (:meth:`DiscordRequests.send_files`)."""
        target = self._route(where)
        # The upload limit counts a message's files together (adapters.discord.uploads).
        groups = group_files(
            files, max_files=self.limits.max_files_per_message, max_bytes=self.file_limit(target)
        )
        await self.requests.send_files(target, groups, upload or Upload())

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        """``key``: the embed's nonce, and each fallback page's derives from it, as
        :meth:`upload`'s do."""
        where = self._route(where)
        try:
            await self.requests.send_embed(where, data, nonce=part_nonce(key, "e", 0))
            return
        except (RateLimited, PlatformUnavailable):
            # Not a refusal: a 429, or an outcome unknown (the embed may have landed; the
            # retry, with the same nonce, gets it back instead of posting the text too).
            raise
        except SurfaceError as exc:
            log.warning("embed refused (%s); posting the text fallback", exc)
        # Split like a reply's pages: between words, fences closed and reopened.
        for index, page in enumerate(split_whole(fallback, self.limits.max_message_chars)):
            await self.requests.acquire(where)
            await self.requests.send(where, page, nonce=part_nonce(key, "t", index))

    # --- beyond the protocol: what the Discord bot needs ------------------------------------
    # (threads are opened and channels described through ``self.requests``, their one owner)

    async def find_open_post(self, lost: LostPost) -> tuple[MessageRef, str] | None:
        """A post whose answer was lost, for crash recovery (see
        :mod:`adapters.discord.lost_posts`); None before the bot has logged in."""
        me = self.client.user
        if me is None:
            return None
        check_platform(lost.where)
        return await find_open_post(
            self.requests, lost, me=me.id, indicator=self.limits.streaming_indicator
        )

    async def shows_final(self, message: MessageRef) -> bool | None:
        """Whether ``message`` shows a finished reply, for crash recovery (see
        :class:`core.ops.recovery.reaper.ReadsMessages`): the writer's final edit leaves
        neither the streaming indicator nor the Stop button (any edit before it shows
        both). None when it cannot tell (not the bot's message, or before login)."""
        me = self.client.user
        check_platform(message.where)
        raw = await self.requests.message(message.where, int(message.message_id))
        if me is None or str((raw.get("author") or {}).get("id")) != str(me.id):
            return None
        return not is_open(raw, str(raw.get("content") or ""), self.limits.streaming_indicator)

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        """A note only ``user`` sees: a DM (see :mod:`adapters.discord.private`)."""
        await tell_privately(self.requests, where, user, markdown)

    async def aclose(self) -> None:
        """Stop every typing indicator (on shutdown)."""
        await self._typing.aclose()

    # --- where a reply can go ---------------------------------------------------------------

    def _route(self, where: ThreadRef) -> ThreadRef:
        """Where a post for ``where`` goes; fails at once, without a request, where Discord
        is known to refuse it."""
        self._check_not_gone(where)
        target = self.reach.detour_of(channel_id(where)) or where
        permission = self.reach.refusal(channel_id(target))
        if permission is not None:
            raise MissingPermission("refused earlier", permission=permission)
        return target

    def _check_not_gone(self, where: ThreadRef) -> None:
        """Fail at once, without a request, in a place known deleted (or not Discord's)."""
        check_platform(where)
        if self.reach.is_gone(channel_id(where)):
            raise ChannelGone(f"channel {where.channel} was deleted")

    async def _detour(
        self, thread: ThreadRef, refused_at: ThreadRef, cause: str, hint: str
    ) -> ThreadRef | None:
        """Where a reply in ``thread`` goes once ``refused_at`` refused its post: the
        thread's parent channel, announced there with ``hint`` once per ``cause``. None when
        there is nowhere to go (the detour refused too, or no parent that takes it): the
        place is then unusable."""
        parent = None
        if refused_at == thread and thread.thread is not None:  # not a detour, nor a channel
            parent = await self.requests.parent_of(thread)
        if parent is None or self.reach.refusal(channel_id(parent)) is not None:
            self._unusable(thread)
            return None
        self.reach.detour(channel_id(thread), parent)
        if self.reach.first_hint(channel_id(parent), cause):
            await self.requests.acquire(parent)
            try:
                await self.requests.send(parent, hint)
            except SurfaceError as exc:  # the reply's own post there will meet it too
                log.warning("could not post a hint in %s: %s", parent.channel, exc)
        return parent

    async def _unarchive(self, thread: ThreadRef) -> None:
        try:
            await self.requests.unarchive(thread)
        except SurfaceError as exc:  # e.g. locked: a new message is the way on
            raise MessageGone(f"the thread is archived and stays so: {exc}") from exc

    def _gone(self, where: ThreadRef) -> None:
        self.reach.mark_gone(channel_id(where))
        self._unusable(where)

    def _unusable(self, where: ThreadRef) -> None:
        self._typing.clear(channel_id(where))
        if self.on_unusable is not None:
            self.on_unusable(where)

    # --- the buttons ------------------------------------------------------------------------

    def _feedback_view(self) -> FeedbackView:
        if self._feedback_template is None:
            self._feedback_template = feedback_template()
        return self._feedback_template

    def _stop_view(self) -> StopView:
        if self._stop_template is None:
            self._stop_template = stop_template()
        return self._stop_template
