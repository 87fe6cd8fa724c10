"""One turn's reply as the Slack surface must know it, and the surface as that reply sees it.

A native stream is addressed to the person who asked (``chat.startStream`` wants their user
and team), and a reply learns things about its thread that make further calls pointless
(:class:`~adapters.slack.guard.ReplyGuard`). Both are the turn's, not the workspace's: the
shared :class:`~adapters.slack.surface.SlackSurface` takes them as an argument
(:class:`Recipient`) on every call, and :class:`RecipientView` is the
:class:`~core.surface.ChatSurface` a turn's relay is given, passing its recipient along.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel

from adapters.slack.guard import ReplyGuard
from core.surface import BudgetScope, MessageRef, OutgoingFile, SurfaceAction, Upload
from core.turn import ThreadRef

if TYPE_CHECKING:
    from adapters.slack.native import NativeStreams
    from adapters.slack.surface import SlackSurface
    from adapters.slack.thinking import Thinking

__all__ = ["Recipient", "RecipientView", "can_receive_stream", "guard_of", "watch"]


_USER_ID = re.compile(r"[UW][A-Z0-9]{2,}")


def can_receive_stream(user: str) -> bool:
    """Whether ``user`` may be ``chat.startStream``'s ``recipient_user_id``: "the encoded ID
    of the user to receive the streaming text" (docs.slack.dev reference/methods/
    chat.startStream), a person's ``U…`` / ``W…``. An integration's post (``bot_message``)
    has no user, and its ``bot_id`` (``B…``) stands in: Slack refuses it
    (``invalid_arguments``, see the simulator's ``api_stream``), so its reply is posted and
    edited instead."""
    return _USER_ID.fullmatch(user) is not None


@dataclass(slots=True)
class Recipient:
    """Who one reply is for, and what it met so far."""

    user: str
    team: str | None  # the event's ``user_team`` (Slack Connect); None: the workspace's
    guard: ReplyGuard
    posted: bool = False  # the reply has posted a message

    @property
    def streams(self) -> bool:
        """Whether this reply may be a native stream (see :func:`can_receive_stream`)."""
        return can_receive_stream(self.user)


def watch(where: ThreadRef, to: Recipient | None) -> AbstractContextManager[None]:
    """A turn's calls go through its reply's guard; others (no ``to``) through none."""
    return to.guard.watch(where) if to is not None else nullcontext()


def guard_of(to: Recipient | None) -> ReplyGuard | None:
    """The reply's guard, for :func:`~adapters.slack.guard.plain_if_refused`; None for a call
    of no turn's reply (blocks, and a refusal raises)."""
    return None if to is None else to.guard


class RecipientView:
    """The surface for one turn: each call is the shared surface's, with ``to``."""

    def __init__(self, surface: SlackSurface, to: Recipient) -> None:
        self.surface = surface
        self.to = to
        self.limits = surface.limits

    @property
    def recipient(self) -> str:
        return self.to.user

    @property
    def native(self) -> NativeStreams:
        return self.surface.native

    @property
    def thinking(self) -> Thinking:
        return self.surface.thinking

    def render(self, markdown: str) -> str:
        return self.surface.render(markdown)

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        return self.surface.budget_scopes(where, action, streams=self.to.streams)

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        return await self.surface.post(where, text, streaming=streaming, key=key, to=self.to)

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        await self.surface.edit(message, text, final=final, to=self.to)

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        await self.surface.set_status(where, status, to=self.to)

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        await self.surface.upload(where, files, upload, to=self.to)

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        await self.surface.post_structured(where, data, fallback, key=key, to=self.to)

    async def offer_feedback(self, message: MessageRef, text: str) -> None:
        await self.surface.offer_feedback(message, text, to=self.to)

    async def post_feedback(
        self, where: ThreadRef, text: str, *, key: str | None = None
    ) -> MessageRef:
        return await self.surface.post_feedback(where, text, key=key, to=self.to)

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        await self.surface.tell_privately(where, user, markdown, about=about)
