"""What a reply tells the crash-recovery observer, and the surface that tells it.

An optional observer (:class:`ReplyObserver`, :mod:`core.ops.recovery`) follows each turn
through a :class:`ReplyTracker`: told before each post or edit and after each completed one
(never per chunk) what each message shows, and when the reply is over. It keeps that in
Redis, so another replica can finish a reply whose process died, or whose final edits a
platform outage held back. Recovery is a safety net: every call to it here is guarded, and
its failure is logged, never raised into a reply.

The writer never calls the tracker itself: it is given the surface wrapped in
:class:`TrackedSurface`, whose posts and edits announce and report themselves.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from pydantic import BaseModel

from core.errors import MessageGone, MessageTooLong, Undeliverable
from core.relay.writer import FinalControls, ReplyWriter
from core.surface import BudgetScope, ChatSurface, MessageRef, OutgoingFile, SurfaceAction, Upload
from core.turn import ThreadRef

__all__ = [
    "ReplyObserver",
    "ReplyTracker",
    "TrackedSurface",
    "await_registered",
    "begin_tracking",
    "leave_unfinished",
    "report_finished",
    "tracked_feedback_edit",
    "tracked_feedback_post",
]

log = logging.getLogger(__name__)


class ReplyTracker(Protocol):
    """One turn, as an observer follows it. Calls are cheap and never raise."""

    async def registered(self) -> None:
        """Return once the turn is known to the observer (bounded): awaited before the
        reply's first visible message, a status (which may post one) or a post."""
        ...

    async def posting(self, text: str) -> None:
        """A post of ``text`` is about to be sent (bounded: it never holds a post long)."""
        ...

    async def sending(self, message: MessageRef, text: str, *, final: bool) -> None:
        """``message`` is about to show ``text`` (bounded: it never holds an edit long)."""
        ...

    def shown(self, message: MessageRef, text: str, *, streaming: bool) -> None:
        """``message`` now shows ``text``; ``streaming`` False once it is final."""
        ...

    def not_posted(self, text: str) -> None:
        """Posting the final ``text`` failed (this try)."""
        ...

    def gone(self, message: MessageRef) -> None:
        """``message`` was deleted."""
        ...

    def owed(self, message: MessageRef, text: str, *, controls: bool = False) -> None:
        """``message`` must still be made to show the final ``text``: the reply's finish was
        cut short before that edit was made (or while it was in flight); ``controls``: with
        the feedback controls (the completed reply's last message, recorded for votes)."""
        ...

    def finished(self) -> None:
        """The turn is over (its final edits were made or given up on)."""
        ...


class ReplyObserver(Protocol):
    def begin(self, where: ThreadRef, *, since: str | None = None) -> ReplyTracker | None:
        """Follow a turn in ``where`` (``None``: not interested); ``since``: the turn's
        message (its platform id), which the reply's messages come after."""
        ...


def begin_tracking(
    observer: ReplyObserver | None, where: ThreadRef, *, since: str | None = None
) -> ReplyTracker | None:
    """``observer``'s tracker for a turn in ``where`` (None: no observer, or it failed)."""
    if observer is None:
        return None
    try:
        return observer.begin(where, since=since)
    except Exception:  # recovery is a safety net: it must never break a reply
        log.exception("reply observer failed")
        return None


async def await_registered(tracker: ReplyTracker) -> None:
    """Wait until ``tracker``'s turn is known to the observer (a failure is logged)."""
    await _told(tracker.registered())


def report_finished(tracker: ReplyTracker) -> None:
    """Tell ``tracker`` its turn is over (a failure is logged)."""
    _quietly(tracker.finished)


def leave_unfinished(
    writer: ReplyWriter,
    tracker: ReplyTracker | None,
    notice: str | None,
    empty: str | None,
    controls: FinalControls | None,
) -> None:
    """Tell ``tracker`` the final edits and posts a cut-short finish did not make, so the
    recovery reapers make them (:meth:`ReplyWriter.unfinished`)."""
    if tracker is None:
        return
    try:
        left = writer.unfinished(notice, empty=empty, controls=controls)
    except Exception:
        log.exception("could not work out the final texts left to make")
        return
    for owed in left:
        if owed.message is None:
            _quietly(functools.partial(tracker.not_posted, owed.text))
        else:
            _quietly(
                functools.partial(tracker.owed, owed.message, owed.text, controls=owed.controls)
            )
    if left:
        log.warning("reply finish cut short: %d final texts left to the recovery reapers",
                    len(left))  # fmt: skip


async def tracked_feedback_edit(
    show: Callable[[MessageRef, str], Awaitable[None]],
    tracker: ReplyTracker,
    message: MessageRef,
    text: str,
) -> None:
    """A final edit with feedback controls (``show``), announced and reported like any
    final edit (:attr:`FinalControls.show`)."""
    await _announced_edit(tracker, message, text, True, lambda: show(message, text))


async def tracked_feedback_post(
    post: Callable[[ThreadRef, str, str], Awaitable[MessageRef]],
    tracker: ReplyTracker,
    where: ThreadRef,
    text: str,
    key: str,
) -> MessageRef:
    """A final post with feedback controls (``post``), announced and reported like any
    final post (:attr:`FinalControls.post`)."""
    return await _announced_post(tracker, text, False, lambda: post(where, text, key))


class TrackedSurface:
    """The surface as the writer sees it: every post and edit is announced to the tracker
    before it is sent, and every completed one reported; the rest passes through."""

    def __init__(self, surface: ChatSurface, tracker: ReplyTracker) -> None:
        self._surface = surface
        self._tracker = tracker
        self.limits = surface.limits

    def render(self, markdown: str) -> str:
        return self._surface.render(markdown)

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        return self._surface.budget_scopes(where, action)

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        return await _announced_post(
            self._tracker, text, streaming,
            lambda: self._surface.post(where, text, streaming=streaming, key=key),
        )  # fmt: skip

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        await _announced_edit(self._tracker, message, text, final,
                              lambda: self._surface.edit(message, text, final=final))  # fmt: skip

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        await self._surface.set_status(where, status)

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        await self._surface.upload(where, files, upload)

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        await self._surface.post_structured(where, data, fallback, key=key)


async def _announced_post(
    tracker: ReplyTracker,
    text: str,
    streaming: bool,
    post: Callable[[], Awaitable[MessageRef]],
) -> MessageRef:
    """``post`` (a message showing ``text``), told to ``tracker`` before and after."""
    await _told(tracker.posting(text))
    try:
        message = await post()
    except (MessageTooLong, Undeliverable):
        raise  # cut smaller, or never deliverable: nothing to keep
    except Exception:
        if not streaming:
            _quietly(lambda: tracker.not_posted(text))
        raise
    _quietly(lambda: tracker.shown(message, text, streaming=streaming))
    return message


async def _announced_edit(
    tracker: ReplyTracker,
    message: MessageRef,
    text: str,
    final: bool,
    edit: Callable[[], Awaitable[None]],
) -> None:
    """``edit`` (``message`` made to show ``text``), told to ``tracker`` before and after."""
    await _told(tracker.sending(message, text, final=final))
    try:
        await edit()
    except MessageGone:
        _quietly(lambda: tracker.gone(message))
        raise
    _quietly(lambda: tracker.shown(message, text, streaming=not final))


async def _told(announcement: Awaitable[None]) -> None:
    """Await a call to the observer: its failure is logged, never raised into the reply."""
    try:
        await announcement
    except Exception:
        log.exception("reply observer failed")


def _quietly(call: Callable[[], None]) -> None:
    """Make a plain call to the observer: its failure is logged, never raised."""
    try:
        call()
    except Exception:
        log.exception("reply observer failed")
