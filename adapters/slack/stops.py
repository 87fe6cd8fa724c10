"""Native streams waiting for ``chat.stopStream``, stopped one at a time at Slack's pace.

``chat.stopStream`` is Tier 2 (20+ per minute per workspace). When many replies end
together, their stops would meet a wall of 429s; the text itself never waits for them (the
rest of each reply is appended at once), only the end of the streaming state does. After a
first 429, stops queue here and one worker sends them ``interval`` seconds apart, honouring
Retry-After, so a congestion episode costs one 429, not one per reply. A queued stop refused
for its blocks or metadata stays in its place and is sent again without them, at the same
pace (:func:`without`). A stream Slack ended while its stop waited (idle too long: the
queue is slow when many replies end together) answers ``message_not_in_streaming_state``,
and Slack's clients show it as broken until a ``chat.update`` rewrites it ("The message
still exists but is stuck as a broken pill in the UI. The only recovery path is
chat.update(ts=...)": slackapi/python-slack-sdk PR #1880): the queue then rewrites it with
the reply's final edit (its text, the mark, the feedback controls), given with the stop.
A stream whose stop is refused with its text alone expires on Slack's side, its text
complete.

The reply's record is dropped once its final edit returns, the stop merely queued: a
process killed before the stop lands (SIGKILL, OOM) left the stream to expire unmarked,
without its feedback controls, shown broken for good, and no reaper knew of it. So each
queued stop is reported to crash recovery as the final edit it owes
(:class:`~core.surface.OwedEdit`, to ``owed``: :class:`~core.surface.OwedEdits`) before
the reply's final edit returns, and forgotten once the stop is done with (sent, the stream
rewritten, or nothing left to stop); should the process die first, a reaper makes that edit
(the text, the mark, the controls; no notice).

At shutdown (:meth:`StopQueue.aclose`) the stops still waiting are sent at the same pace,
Retry-After honoured, for as long as the shutdown's budget allows; what cannot be sent in
time is returned, each as the final edit it owes, for crash recovery to make after the
restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from adapters.slack.api import SlackApi
from adapters.slack.errors import STREAM_ENDED, SlackError, SlackTooLong
from adapters.slack.final_mark import final_mark
from core.errors import MessageTooLong, RateLimited, SurfaceError
from core.surface import MessageRef, OwedEdit, OwedEdits

__all__ = ["Extras", "Rewrite", "StopQueue", "extras_refused", "final_extras", "without"]

log = logging.getLogger(__name__)


# Refusals that say nothing of what a stop carries: the stream ended, cannot stream, or is
# not this app's.
_NOT_EXTRAS = frozenset(
    {
        STREAM_ENDED,
        "stopped_by_user",
        "channel_type_not_supported",
        "streaming_state_conflict",
        "message_not_owned_by_app",
    }
)


def extras_refused(exc: SurfaceError) -> bool:
    """Whether a ``chat.stopStream`` carrying blocks and metadata was refused for them
    (its Errors: ``invalid_blocks``, ``msg_blocks_too_long``, ``invalid_metadata_format``,
    ``metadata_too_large``... docs.slack.dev reference/methods/chat.stopStream), so the
    same stop without them may go through: any refusal of this call's arguments, as
    opposed to the stream's state, the token, the place, a 429 or a transient failure."""
    if isinstance(exc, MessageTooLong):
        # Its blocks, when the code names them. ``msg_too_long`` is the text: a streamed
        # message holds about 12,000 characters in all, and a stop's text that would take
        # it past that is refused so (CopilotKit/CopilotKit#6063, vercel/chat#617); the
        # same stop without its blocks or metadata would be refused alike.
        return not isinstance(exc, SlackTooLong) or exc.code != "msg_too_long"
    return isinstance(exc, SlackError) and exc.kind == "refused" and exc.code not in _NOT_EXTRAS


Rewrite = Callable[[], Awaitable[None]]
"""A reply's final edit as a ``chat.update`` (the surface's, with its feedback controls)."""

Extras = dict[str, Any]
"""What a final stop carries besides its text: ``metadata`` (the final mark) and, when the
reply offers them, ``blocks`` (the feedback controls)."""


def final_extras(blocks: list[dict[str, Any]] | None) -> Extras:
    """A reply's final stop's extras: the mark crash recovery reads, and ``blocks``."""
    extras: Extras = {"metadata": final_mark()}
    if blocks:
        extras["blocks"] = blocks
    return extras


def without(extras: Extras, refused: SurfaceError) -> Extras:
    """``extras`` of a stop ``refused`` for them (:func:`extras_refused`), minus what the
    refusal names: the metadata when its code says so, else the blocks (the feedback
    controls: the mark stays); none at all when what it names is not there, since the same
    stop again would be the very call refused."""
    code = refused.code if isinstance(refused, SlackError) else None
    drop = "metadata" if code is not None and "metadata" in code else "blocks"
    if drop not in extras:
        return {}
    return {key: value for key, value in extras.items() if key != drop}


@dataclass(slots=True)
class _Stop:
    scope: str
    extras: Extras  # what it carries besides the text: final_extras, or what is left
    edit: OwedEdit  # the final edit owed until the stop is done with (reported to ``owed``)
    rewrite: Rewrite | None  # the final edit, should Slack end the stream meanwhile

    @property
    def message(self) -> MessageRef:
        return self.edit.message

    def owed(self) -> OwedEdit:
        return replace(self.edit, controls="blocks" in self.extras)


class StopQueue:
    """Pending stops of one surface (see the module docstring); ``owed``: where their final
    edits are reported (crash recovery's, set on the surface later: hence a getter)."""

    def __init__(
        self, api: SlackApi, *, interval: float,
        owed: Callable[[], OwedEdits | None] = lambda: None,
    ) -> None:  # fmt: skip
        self._api = api
        self._owed = owed
        self._interval = interval  # seconds between two stops: the Tier 2 pace
        self._pending: deque[_Stop] = deque()
        self._not_before = 0.0  # loop time before which no stop is sent
        self._deadline: float | None = None  # closing: loop time by which stops are sent
        self._worker: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether a stop sent now would likely meet a 429 (stops are queued or paused)."""
        return bool(self._pending) or asyncio.get_running_loop().time() < self._not_before

    def __len__(self) -> int:
        return len(self._pending)

    async def add(
        self,
        message: MessageRef,
        scope: str,
        *,
        retry_after: float = 0.0,
        extras: Extras,
        text: str,
        rewrite: Rewrite | None = None,
    ) -> None:
        """Queue the final stop of ``message``, carrying ``extras`` (:func:`final_extras`,
        or what is left of them after a refusal); ``text``: the reply's final text, all
        appended already; ``rewrite``: the reply's final edit as a ``chat.update``, for a
        stream Slack ends before its stop is sent. Returns once the final edit it owes is
        reported to crash recovery (bounded), so it outlives the reply's record."""
        loop = asyncio.get_running_loop()
        edit = OwedEdit(message, text, controls="blocks" in extras)
        self._pending.append(_Stop(scope, extras, edit, rewrite))
        self._not_before = max(self._not_before, loop.time() + retry_after)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run(), name="slack-stream-stops")
        owed = self._owed()
        if owed is not None:
            try:
                await owed.owe(edit)
            except Exception:  # crash recovery is a safety net: it never breaks a reply
                log.exception("could not report the final edit %s owes", message.message_id)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            if self._deadline is not None and self._not_before > self._deadline:
                return  # closing: the next stop could not be sent in time (aclose)
            await asyncio.sleep(max(0.0, self._not_before - loop.time()))
            stop = self._pending[0]
            message, extras, rewrite = stop.message, stop.extras, stop.rewrite
            try:
                await self._api.stop_stream(  # a reply's final stop: it leaves the mark
                    message.where.channel, message.message_id, "", scope=stop.scope, **extras
                )
            except RateLimited as limited:
                self._not_before = loop.time() + max(limited.retry_after, self._interval)
                continue  # the same stream again, after Retry-After
            except SurfaceError as exc:
                if extras and extras_refused(exc):
                    # Its blocks or metadata: sent again without them, at the queue's pace
                    # like any stop (sent at once, its 429 would drop it).
                    log.warning("deferred stop of %s refused (%s): stopping without it",
                                message.message_id, exc)  # fmt: skip
                    stop.extras = without(extras, exc)
                    self._not_before = loop.time() + self._interval
                    continue
                if rewrite is not None and isinstance(exc, SlackError) and exc.code == STREAM_ENDED:
                    await self._rewrite(message, rewrite)
                # Expired, deleted...: nothing left to stop; or refused with the text
                # alone: left to expire on Slack's side, its text complete.
                log.debug("deferred stop of %s: %s", message.message_id, exc)
            self._pending.popleft()
            self._not_before = loop.time() + self._interval
            self._made(stop.edit)

    def _made(self, edit: OwedEdit) -> None:
        """The stop is done with: its final edit is no longer owed to crash recovery."""
        owed = self._owed()
        if owed is not None:
            try:
                owed.made(edit)
            except Exception:
                log.exception("could not report the final edit of %s made",
                              edit.message.message_id)  # fmt: skip

    @staticmethod
    async def _rewrite(message: MessageRef, rewrite: Rewrite) -> None:
        """Slack ended the stream before its stop: shown broken until rewritten."""
        log.info("stream %s ended before its deferred stop: rewriting it", message.message_id)
        try:
            await rewrite()
        except SurfaceError as exc:
            log.warning("could not rewrite the ended stream %s: %s", message.message_id, exc)

    async def aclose(self, within: float = 0.0) -> list[OwedEdit]:
        """Send the stops still waiting, at the queue's pace, for up to ``within`` seconds
        (the shutdown's budget); returns the final edits owed by the streams whose stop
        could not be sent by then, or whose next try would come too late (Retry-After)."""
        worker = self._worker
        if worker is not None and not worker.done() and within > 0:
            log.info("shutdown: %d stream stops wait; sending them for up to %gs",
                     len(self._pending), within)  # fmt: skip
            self._deadline = asyncio.get_running_loop().time() + within
            await asyncio.wait({worker}, timeout=within)
        if worker is not None:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        owed = [stop.owed() for stop in self._pending]
        self._pending.clear()
        return owed
