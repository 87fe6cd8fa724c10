"""``SlackSurface``: the :class:`~core.surface.ChatSurface` of a Slack workspace.

Edit mode (the default): the first text is a ``chat.postMessage`` in the thread, carrying
the Stop button (the text then sits in section blocks, see :mod:`adapters.slack.blocks`);
later texts are ``chat.update``; the final update removes the button. Native mode hides
Slack's streaming API behind the same calls (:mod:`adapters.slack.native`). The thinking
indicator is a thread status or a placeholder message (:mod:`adapters.slack.thinking`).

Budgets: edits draw on the workspace's ``chat.update`` budget (``chat.appendStream`` when
streaming natively), posts on ``chat.postMessage`` per channel and per workspace; every 429
names the scope of the method that was refused (:mod:`adapters.slack.config`).

Each call says what it does and hands the work to the module that owns it: first texts and
structured output to :mod:`adapters.slack.posts`, later texts to :mod:`adapters.slack.edits`,
the thinking indicator to :mod:`adapters.slack.thinking`, retried uploads to
:mod:`adapters.slack.unsure_uploads`, crash recovery's thread reads to
:mod:`adapters.slack.lookups`.

One surface serves a workspace. What belongs to one turn's reply (the user a native stream
is addressed to, what the reply met) is a :class:`~adapters.slack.recipient.Recipient`,
passed to each call as ``to``; :meth:`SlackSurface.for_recipient` gives the turn's relay a
:class:`~adapters.slack.recipient.RecipientView` that passes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel

from adapters.slack.api import SlackApi
from adapters.slack.blocks import Dialect, payload
from adapters.slack.config import SurfaceConfig, scope_key, scopes_for
from adapters.slack.edits import Edits
from adapters.slack.ephemeral import ephemeral_thread
from adapters.slack.guard import ReplyGuard
from adapters.slack.lookups import ThreadLookups
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.native import NativeStreams
from adapters.slack.posts import Posts
from adapters.slack.recipient import Recipient, RecipientView, watch
from adapters.slack.safe_markdown import to_safe_markdown
from adapters.slack.thinking import Thinking
from adapters.slack.unsure_posts import UnsurePosts
from adapters.slack.unsure_uploads import UnsureUploads
from core.surface import (
    BudgetScope,
    LostPost,
    MessageRef,
    OutgoingFile,
    OwedEdits,
    StrayCopy,
    SurfaceAction,
    Upload,
)
from core.turn import ThreadRef

__all__ = ["GiveUp", "SlackSurface"]

log = logging.getLogger(__name__)

GiveUp = Callable[[ThreadRef, str, str], None]
"""Stop the reply streaming in a thread: (where, the asking user, why). Set by the bot."""


class SlackSurface:
    """Posts, edits, streams and uploads in one Slack workspace (see the module docstring).

    Called without ``to`` (crash recovery, the bot's own posts), a call belongs to no
    turn's reply: no stream is addressed to anyone and no guard applies.
    """

    recipient: str | None = None  # the workspace's surface addresses no one (see the view)

    def __init__(self, api: SlackApi, config: SurfaceConfig | None = None) -> None:
        self.api = api
        self.config = config or SurfaceConfig()
        self.limits = self.config.limits()
        self.on_give_up: GiveUp | None = None
        self.me: tuple[str, str] | None = None
        """The bot's user id and bot id (set by the bot): which messages are its own."""
        self.strays: Callable[[StrayCopy], Awaitable[None]] | None = None
        """Where a stray copy of a post retried blind is left (set by crash recovery)."""
        self.owed_edits: OwedEdits | None = None
        """Where the final edits this surface owes after its reply's final edit returned
        are reported (set by crash recovery): a stream whose stop waits in the queue."""
        self._dialect: Dialect = "markdown" if self.config.markdown else "mrkdwn"
        self.thinking = Thinking(api, self.config.thinking, self._placeholder)
        self.native = NativeStreams(
            api, start_per_minute=self.config.start_per_minute,
            start_burst=self.config.update_burst, owed=lambda: self.owed_edits,
        )  # fmt: skip
        if not self.config.native:
            self.native.disabled = True
        self.edits = Edits(api, self._dialect, self.native, self._give_up)
        self.unsure_uploads = UnsureUploads(api, me=lambda: self.me)
        self.unsure_posts = UnsurePosts(
            api, me=lambda: self.me, indicator=self.limits.streaming_indicator,
            finalise=self.edits.finalise_stray, strays=lambda: self.strays,
        )  # fmt: skip
        self.posts = Posts(api, self._dialect, thinking=self.thinking, native=self.native,
                           unsure=self.unsure_posts, edits=self.edits)  # fmt: skip
        self.lookups = ThreadLookups(
            api, me=lambda: self.me, indicator=self.limits.streaming_indicator
        )

    def for_recipient(self, user: str, *, team: str | None = None) -> RecipientView:
        """This surface for one turn: native streams go to ``user``, of ``team`` (the
        event's ``user_team``: another organisation's in Slack Connect; by default the
        workspace's own), and the reply gets a guard of its own."""
        guard = ReplyGuard(lambda where, reason: self._give_up(where, user, reason))
        return RecipientView(self, Recipient(user, team, guard))

    async def aclose(self, within: float = 0.0) -> None:
        """Native streams' stops still queued (chat.stopStream's 429s) are sent, at their
        pace, for up to ``within`` seconds (what the shutdown's budget leaves); the final
        edits of those that could not be are left to crash recovery (``owed_edits``),
        whose reapers make them after the restart."""
        owed = await self.native.aclose(within)
        if not owed:
            return
        recovery = self.owed_edits
        if recovery is None:
            log.warning("%d native streams left to expire unmarked (no crash recovery)",
                        len(owed))  # fmt: skip
            return
        log.warning("%d native streams' stops could not be sent before the shutdown: their "
                    "final edits are left to crash recovery", len(owed))  # fmt: skip
        await asyncio.gather(*(recovery.leave(edit) for edit in owed))

    # --- ChatSurface ---------------------------------------------------------------------

    def render(self, markdown: str) -> str:
        return to_safe_markdown(markdown) if self.config.markdown else to_mrkdwn(markdown)

    def budget_scopes(
        self, where: ThreadRef, action: SurfaceAction, *, streams: bool = True
    ) -> Sequence[BudgetScope]:
        # Asked before every call: once a stream falls back to chat.update (or a channel
        # refuses streams), the reply draws on the chat.update budget, not appendStream's.
        # A post's first call decides whether that message starts natively (per message:
        # the Tier 2 start budget serves it soon, else it streams by chat.update).
        # ``streams``: False for a reply no stream can be addressed to (an integration's).
        if action == "read":
            return scopes_for(self.config, where, action, native=False)
        if not streams:
            native = False
        elif action == "edit":
            native = self.native.streams_edits(where)
        else:
            native = self.native.plans_stream(where)
        scopes = scopes_for(self.config, where, action, native=native)
        if action == "post" and self.thinking.uses_placeholder(where):
            # The first post will be a chat.update of the placeholder.
            scopes = (*scopes, *scopes_for(self.config, where, "edit", native=False))
        return scopes

    async def post(
        self,
        where: ThreadRef,
        text: str,
        *,
        streaming: bool = False,
        key: str | None = None,
        to: Recipient | None = None,
    ) -> MessageRef:
        """``key``: the same on every try of this post; a retry after a try whose outcome
        is unknown adopts that try's message if it landed (:mod:`adapters.slack.unsure_posts`)."""
        return await self.posts.post(where, text, streaming, key, to, feedback=False)

    async def edit(
        self, message: MessageRef, text: str, *, final: bool = False, to: Recipient | None = None
    ) -> None:
        await self.edits.edit(message, text, final, to, feedback=False)

    async def set_status(
        self, where: ThreadRef, status: str | None, *, to: Recipient | None = None
    ) -> None:
        if to is not None and to.guard.dead:
            return  # nothing to show or clear where nothing can be posted
        posted = to is not None and to.posted
        if status and posted and self.thinking.uses_placeholder(where):
            # Mid-reply (the agent quiet, a tool running) a placeholder would be a new
            # message under the reply: its streaming indicator says enough there.
            return
        with watch(where, to):
            if status is None:
                await self.thinking.clear(where)
            else:
                await self.thinking.show(where, status)

    async def upload(
        self,
        where: ThreadRef,
        files: Sequence[OutgoingFile],
        upload: Upload | None = None,
        *,
        to: Recipient | None = None,
    ) -> None:
        """``upload``'s key: the same on every try; a retry after a try whose completion's
        outcome is unknown looks for that try's files in the thread first
        (:mod:`adapters.slack.unsure_uploads`). Its ``landed`` is not needed: the files are
        shared in one message, all or none."""
        key = None if upload is None else upload.key
        scope = scope_key(where, "files.upload")
        with watch(where, to):
            if key is None:
                await self.api.upload(where.channel, where.thread, files, scope=scope)
            elif not await self.unsure_uploads.find(key, where):
                await self.unsure_uploads.upload(key, where, files, scope=scope)
        self.thinking.replied(where)

    async def post_structured(
        self,
        where: ThreadRef,
        data: BaseModel,
        fallback: str,
        *,
        key: str | None = None,
        to: Recipient | None = None,
    ) -> None:
        """``key``: as :meth:`post`'s (a retry after an unknown outcome looks first)."""
        await self.posts.structured(where, data, fallback, key, to)

    # --- beyond the protocol ------------------------------------------------------------

    async def post_feedback(
        self, where: ThreadRef, text: str, *, key: str | None = None, to: Recipient | None = None
    ) -> MessageRef:
        """A final post of ``text`` with 👍 / 👎 under it (as :meth:`post`); plain text
        where this reply fell back to it."""
        return await self.posts.post(where, text, False, key, to, feedback=True)

    async def offer_feedback(
        self, message: MessageRef, text: str, *, to: Recipient | None = None
    ) -> None:
        """The final edit of ``message`` (as :meth:`edit` with ``final``), with 👍 / 👎 under
        ``text`` (see :mod:`adapters.slack.blocks`): a ``chat.update``, or the
        ``chat.stopStream`` of a native stream. Where this reply fell back to plain text
        (no blocks, so no buttons) it is the plain final edit."""
        await self.edits.edit(message, text, True, to, feedback=True)

    async def find_open_post(self, lost: LostPost) -> tuple[MessageRef, str] | None:
        """A post whose answer was lost, for crash recovery (see
        :mod:`adapters.slack.lost_posts`); None while the bot's identity is unknown."""
        return await self.lookups.find_open_post(lost)

    async def has_posted(self, where: ThreadRef) -> bool:
        """Whether the bot posted in the thread ``where`` (its first messages: see
        :func:`adapters.slack.thread_scan.has_posted`), for a follow-up Redis cannot place;
        False while the bot's identity is unknown. Draws on ``budget_scopes(where, "read")``."""
        return await self.lookups.has_posted(where)

    async def shows_final(self, message: MessageRef) -> bool | None:
        """Whether ``message`` shows a finished reply, for crash recovery (see
        :mod:`adapters.slack.shown`); None when it cannot tell (not found)."""
        return await self.lookups.shows_final(message)

    async def finalise_stray(self, stray: StrayCopy) -> bool:
        """A stray copy of a post retried blind, for crash recovery's reapers (see
        :mod:`adapters.slack.unsure_posts`): found, it is finalised; False if not there."""
        return await self.unsure_posts.sweep(stray)

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        """An ephemeral message for ``user`` (why their message is not answered), in the
        thread when there is one (see :func:`adapters.slack.ephemeral.ephemeral_thread`)."""
        scope = scope_key(where, "chat.postEphemeral")
        thread = ephemeral_thread(where, about)
        await self.api.post_ephemeral(
            where.channel, user, to_mrkdwn(markdown), thread=thread, scope=scope
        )

    # --- internals -----------------------------------------------------------------------

    def _placeholder(self, status: str, thread: str) -> dict[str, Any]:
        return payload(
            self.render(f"_{status}_"), self._dialect, controls=True, thread=thread, update=False
        )

    def _give_up(self, where: ThreadRef, user: str, reason: str) -> None:
        """``user``'s reply cannot (or must not) go on: ask the bot to stop it."""
        if self.on_give_up is not None:
            try:
                self.on_give_up(where, user, reason)
            except Exception:  # the hook is the bot's; a bug there must not break the edit
                log.exception("stopping the reply failed")
