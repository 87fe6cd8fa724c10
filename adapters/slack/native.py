"""Native streaming (``chat.startStream`` / ``appendStream`` / ``stopStream``), behind edits.

The relay sends whole texts; a native stream only appends. Each streamed message remembers
what it was sent, and an edit whose text *extends* that sends just the new suffix. While a
reply streams, only the *stable* prefix is sent (:func:`stable_prefix`): up to the last
whitespace, and without a trailing fence line (the relay closes an open code block at the
end of each update; sent as is, that closer could never be taken back). The final edit
sends the rest and stops the stream, leaving the mark crash recovery reads back
(:mod:`adapters.slack.final_mark`; so does a stream's final ``chat.update``) and its
``blocks``: the feedback controls, if offered. Pacing is the relay's (every ≥ 1 s per
message, within the workspace's ``appendStream`` budget), so the flush is time-based, not a
256-character buffer.

What Slack may answer instead, and what follows (docs.slack.dev reference/methods/
chat.startStream, chat.appendStream, chat.stopStream, chat.update):

- the stream expired or was stopped (``message_not_in_streaming_state``), the channel type
  cannot stream (``channel_type_not_supported``), a conflicting state
  (``streaming_state_conflict``), or the new text does not extend what was sent (a page was
  cut shorter) → the message continues with ``chat.update`` on the same ``ts`` for the rest
  of its life, and the reply's edits draw on the ``chat.update`` budget from then on
  (:meth:`NativeStreams.streams_edits`);
- the person stopped the stream (``stopped_by_user``) → nothing more is appended:
  :class:`StoppedByUser` tells the surface once, which stops the reply; its final edit
  (the text and the "stopped" notice) is a ``chat.update``;
- ``chat.startStream`` refused for the channel type → that channel's replies are posted
  and edited, not streamed; refused for the app (``missing_scope``...) → no more streams;
- a final ``chat.stopStream`` refused for its blocks or metadata (``invalid_blocks``,
  ``msg_blocks_too_long``, ``invalid_metadata_format``, ``metadata_too_large``...: its
  Errors) is sent again without what was refused (:func:`~adapters.slack.stops.without`),
  so the stream ends with the whole reply;
- a ``chat.stopStream`` refused with 429 (Tier 2: 20+/min) does not hold the reply's text
  back: the rest is appended, and the stop waits in a paced queue
  (:mod:`adapters.slack.stops`); if Slack ends the stream before that stop is sent, the
  queue rewrites it with the final edit as a ``chat.update`` (a stream Slack expired shows
  as broken until then); crash recovery keeps each queued stop's final edit until the stop
  is done with, so a reaper makes it should the process die first; at shutdown the queue is
  sent within the shutdown's budget, and the final edits of the streams still waiting are
  left to crash recovery.

``chat.startStream`` is Tier 2 too: whether a message starts as a stream is decided per
message (:mod:`adapters.slack.starts`); one the start budget cannot serve soon is posted and
edited, and a start refused with 429 is posted at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from adapters.slack.api import SlackApi
from adapters.slack.config import scope_key
from adapters.slack.errors import STREAM_ENDED, SlackError
from adapters.slack.stable import stable_prefix
from adapters.slack.starts import StartPlanner
from adapters.slack.stops import (
    Extras,
    Rewrite,
    StopQueue,
    extras_refused,
    final_extras,
    without,
)
from core.errors import MessageTooLong, RateLimited, SurfaceError
from core.surface import MessageRef, OwedEdit, OwedEdits
from core.turn import ThreadRef

__all__ = ["NativeStreams", "StoppedByUser", "stable_prefix"]

log = logging.getLogger(__name__)

# startStream refusals meaning the app or workspace cannot stream at all.
_UNSUPPORTED = frozenset(
    {
        "unknown_method",
        "missing_scope",
        "not_allowed",
        "not_allowed_token_type",
        "feature_not_enabled",
        "method_deprecated",
        "no_permission",
    }
)
STOPPED_BY_USER = "stopped_by_user"
# Refusals meaning this message cannot stream any more (chat.update still works on it).
_FALL_BACK = frozenset({STREAM_ENDED, "channel_type_not_supported", "streaming_state_conflict"})
_MAX_STREAMS = 10_000  # streams remembered at most (a reply that never finished is dropped)
_MAX_REMEMBERED = 10_000  # threads and channels remembered at most (oldest dropped)

Update = Callable[[MessageRef, str, bool], Awaitable[None]]
"""Replace a message's text with chat.update: (message, text, final)."""


class StoppedByUser(SurfaceError):
    """The person stopped the native stream; raised once, so the reply can stop too."""


@dataclass(slots=True)
class _Stream:
    sent: str  # the Markdown appended so far
    live: bool = True  # False once the message fell back to chat.update
    stopped_by_user: bool = False


Key = tuple[str, str | None]  # (channel, thread)
K = TypeVar("K")


class NativeStreams:
    """The native streams of one surface (shared by its views)."""

    def __init__(
        self, api: SlackApi, *, start_per_minute: float = 20.0, start_burst: float = 3.0,
        owed: Callable[[], OwedEdits | None] = lambda: None,
    ) -> None:  # fmt: skip
        self._api = api
        self.disabled = False
        self.starts = StartPlanner(per_minute=start_per_minute, burst=start_burst)
        self._streams: dict[str, _Stream] = {}  # message ts -> stream
        self._updated: dict[Key, None] = {}  # threads whose open message uses chat.update
        self._refusing: dict[str, None] = {}  # channels where Slack refuses streams
        # ``owed``: crash recovery's, where a queued stop's final edit is reported.
        self.stops = StopQueue(api, interval=60.0 / start_per_minute, owed=owed)

    def owns(self, message: MessageRef) -> bool:
        return message.message_id in self._streams

    def streams_posts(self, where: ThreadRef) -> bool:
        """Whether a new message in ``where`` will be a stream (chat.startStream)."""
        return not self.disabled and where.channel not in self._refusing

    def plans_stream(self, where: ThreadRef) -> bool:
        """Whether the next message in ``where`` will start a stream: streams are usable
        and the start budget can serve it soon (decided once per message, see
        :mod:`adapters.slack.starts`). Otherwise that message is posted and edited."""
        if not self.streams_posts(where) or where.thread is None:
            return False
        key = (where.channel, where.thread)
        now = asyncio.get_running_loop().time()
        if self.starts.plan(key, scope_key(where, "chat.startStream"), now):
            return True
        _remember(self._updated, key)
        return False

    def forget_plan(self, where: ThreadRef) -> None:
        """The message planned for ``where`` is posted without streaming."""
        now = asyncio.get_running_loop().time()
        self.starts.take((where.channel, where.thread), scope_key(where, "chat.startStream"), now)

    def post_instead(self, where: ThreadRef) -> None:
        """The next message in ``where`` is posted and edited, not streamed (its reply has
        no user to address a stream to): its edits use chat.update."""
        _remember(self._updated, (where.channel, where.thread))

    def streams_edits(self, where: ThreadRef) -> bool:
        """Whether the open message in ``where`` is edited by appending (else chat.update)."""
        return self.streams_posts(where) and (where.channel, where.thread) not in self._updated

    async def start(
        self,
        where: ThreadRef,
        text: str,
        *,
        recipient: str | None,
        team: str | None = None,
        scope: str,
    ) -> str | None:
        """Start a stream showing ``text`` to ``recipient`` of ``team`` (their own team:
        another organisation's in Slack Connect; the workspace's by default); None when
        streams cannot be used (post instead)."""
        key = (where.channel, where.thread)
        loop = asyncio.get_running_loop()
        if (
            not self.streams_posts(where)
            or where.thread is None
            or not self.starts.take(key, scope, loop.time())
        ):
            _remember(self._updated, key)
            return None
        first = stable_prefix(text)
        try:
            ts = await self._api.start_stream(
                where.channel, where.thread, first, team=team or where.workspace,
                user=recipient, scope=scope,
            )  # fmt: skip
        except RateLimited as limited:
            # No reply waits for a stream start: this one is posted now, and the next ones
            # until Slack allows starts again.
            self.starts.refused(scope, loop.time(), limited.retry_after)
            _remember(self._updated, key)
            log.info("chat.startStream refused with 429: this reply uses chat.update")
            return None
        except SlackError as exc:
            if exc.transient or exc.kind in ("token", "place"):
                raise  # the relay retries, or the reply cannot continue anyway
            self._refused(where, exc)
            _remember(self._updated, (where.channel, where.thread))
            return None
        self._updated.pop((where.channel, where.thread), None)
        self._streams[ts] = _Stream(first)
        while len(self._streams) > _MAX_STREAMS:
            del self._streams[next(iter(self._streams))]
        return ts

    def _refused(self, where: ThreadRef, exc: SlackError) -> None:
        if exc.code in _UNSUPPORTED:
            self.disabled = True
            log.warning("native streaming unavailable (%s): using chat.update", exc.code)
        elif exc.code == "channel_type_not_supported":
            _remember(self._refusing, where.channel)
            log.info("channel %s refuses streams: its replies use chat.update", where.channel)
        else:
            log.warning("chat.startStream refused (%s): this reply uses chat.update", exc)

    async def edit(
        self,
        message: MessageRef,
        text: str,
        *,
        final: bool,
        scope: str,
        update: Update,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        """Show ``text``: append to the stream, or fall back (see the module docstring).
        ``blocks`` (a final edit's feedback controls) go with the ``chat.stopStream``,
        which adds them under the text; once fallen back, ``update`` shows them.
        Raises :class:`StoppedByUser` the first time Slack says the person stopped it."""
        stream = self._streams[message.message_id]
        if stream.live:
            wanted = text if final else stable_prefix(text)
            if not final and stream.sent.startswith(wanted):
                return  # nothing new that is certain yet (a closing fence may be withheld)
            if wanted.startswith(stream.sent):
                rewrite = functools.partial(update, message, text, True)
                try:
                    await self._extend(message, stream, wanted, final=final, scope=scope,
                                       blocks=blocks, rewrite=rewrite)  # fmt: skip
                    return
                except SlackError as exc:
                    self._stream_refused(message, stream, exc, final=final)
                    if exc.code not in (STREAM_ENDED, STOPPED_BY_USER):
                        await self.end(message)  # it may still stream: stop it first
            else:
                await self.end(message)
            stream.live = False
            _remember(self._updated, (message.where.channel, message.where.thread))
        elif stream.stopped_by_user and not final:
            return  # stopped: nothing more until the final edit
        await update(message, text, final)
        if final:
            self._streams.pop(message.message_id, None)

    def _stream_refused(
        self, message: MessageRef, stream: _Stream, exc: SlackError, *, final: bool
    ) -> None:
        """An append or stop was refused: fall back, stop cleanly, or re-raise."""
        if exc.code == STOPPED_BY_USER:
            stream.live, stream.stopped_by_user = False, True
            _remember(self._updated, (message.where.channel, message.where.thread))
            log.info("stream %s stopped by the user", message.message_id)
            if not final:
                raise StoppedByUser(f"chat.appendStream: {STOPPED_BY_USER}") from exc
            return  # the final edit still happens, with chat.update
        if exc.code not in _FALL_BACK and exc.code not in _UNSUPPORTED:
            raise exc
        log.info("stream %s ended (%s); continuing with chat.update", message.message_id,
                 exc.code)  # fmt: skip

    async def _extend(
        self,
        message: MessageRef,
        stream: _Stream,
        wanted: str,
        *,
        final: bool,
        scope: str,
        blocks: list[dict[str, Any]] | None = None,
        rewrite: Rewrite | None = None,
    ) -> None:
        """Append what ``wanted`` adds; when ``final``, stop the stream (or queue its stop,
        ``rewrite`` standing by should Slack end the stream before it is sent)."""
        where, ts = message.where, message.message_id
        suffix = wanted[len(stream.sent) :]
        if not final:
            if suffix:
                await self._api.append_stream(where.channel, ts, suffix, scope=scope)
                stream.sent = wanted
            return
        stop_scope = scope_key(where, "chat.stopStream")
        if self.stops.busy:  # stops are queued: a direct one would meet a 429
            if suffix:
                await self._api.append_stream(where.channel, ts, suffix, scope=scope)
            await self.stops.add(message, stop_scope, extras=final_extras(blocks),
                                 text=wanted, rewrite=rewrite)  # fmt: skip
        else:
            await self._stop(message, wanted, suffix, stop_scope, final_extras(blocks),
                             scope=scope, rewrite=rewrite)  # fmt: skip
        self._streams.pop(ts, None)

    async def _stop(
        self,
        message: MessageRef,
        text: str,
        suffix: str,
        stop_scope: str,
        extras: Extras,
        *,
        scope: str,
        rewrite: Rewrite | None = None,
    ) -> None:
        """The final stop, with ``suffix`` (what ``text``, the reply's final text, adds to
        the stream) and ``extras``; a 429 queues it (the text is
        appended first); a refusal of its ``extras`` sends it again without what was
        refused (:func:`~adapters.slack.stops.without`), down to the text alone."""
        where, ts = message.where, message.message_id
        while True:
            try:
                await self._api.stop_stream(where.channel, ts, suffix, scope=stop_scope,
                                            **extras)  # fmt: skip
                return
            except RateLimited as limited:
                if suffix:  # the text must not wait for the stop: append it now
                    await self._api.append_stream(where.channel, ts, suffix, scope=scope)
                await self.stops.add(message, stop_scope, retry_after=limited.retry_after,
                                     extras=extras, text=text, rewrite=rewrite)  # fmt: skip
                return
            except (SlackError, MessageTooLong) as exc:
                if not extras or not extras_refused(exc):
                    raise
                # Refused for what it carries besides the text (its blocks or metadata): a
                # retry would be refused alike, and the stream would stay open without the
                # reply's last words. Stopped without them, the reply ends whole.
                log.warning("chat.stopStream refused (%s): stopping without it", exc)
                extras = without(extras, exc)

    async def end(self, message: MessageRef) -> None:
        """Stop the stream before chat.update takes over (it may have ended already)."""
        where = message.where
        try:
            await self._api.stop_stream(
                where.channel, message.message_id, "", scope=scope_key(where, "chat.stopStream")
            )
        except SurfaceError as exc:
            log.debug("stopping stream %s before fallback: %s", message.message_id, exc)

    async def aclose(self, within: float = 0.0) -> list[OwedEdit]:
        """Stops still queued are sent for up to ``within`` seconds; returns the final
        edits owed by the streams whose stop could not be (:meth:`StopQueue.aclose`)."""
        return await self.stops.aclose(within)


def _remember(items: dict[K, None], key: K) -> None:
    items[key] = None
    while len(items) > _MAX_REMEMBERED:
        del items[next(iter(items))]
