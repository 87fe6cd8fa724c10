"""Native streaming (``chat.startStream`` / ``appendStream`` / ``stopStream``), behind edits.

The relay sends whole texts; a native stream only appends. Each streamed message remembers
what it was sent, and an edit whose text *extends* that sends just the new suffix. While a
reply streams, only the *stable* prefix is sent (:func:`stable_prefix`): up to the last
whitespace, and without a trailing fence line (the relay closes an open code block at the
end of each update; sent as is, that closer could never be taken back). The final edit
sends the rest and stops the stream.

When the stream cannot take the text — it expired or was stopped
(``message_not_in_streaming_state``), or the new text does not extend what was sent (a page
was cut shorter) — the message falls back to ``chat.update`` on the same ``ts`` for the rest
of its life. Pacing is the relay's (every ≥ 1 s per message, within the workspace's
``appendStream`` budget), so the flush is time-based, not a 256-character buffer.

A ``chat.stopStream`` refused with 429 (Tier 2: 20+/min) does not hold the reply's text
back: the rest is appended, and the stop waits in a paced queue (:mod:`adapters.slack.stops`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from adapters.slack.api import SlackApi
from adapters.slack.errors import STREAM_ENDED, SlackError
from adapters.slack.stops import StopQueue
from core.errors import RateLimited, SurfaceError
from core.surface import MessageRef
from core.turn import ThreadRef

__all__ = ["NativeStreams", "stable_prefix"]

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
_FENCE_LINE = re.compile(r" {0,3}(?:`{3,}|~{3,})[ \t]*")
_TAIL = re.compile(r"\S*\Z")
_MAX_STREAMS = 10_000  # streams remembered at most (a reply that never finished is dropped)

Update = Callable[[MessageRef, str, bool], Awaitable[None]]
"""Replace a message's text with chat.update: (message, text, final)."""


def stable_prefix(text: str) -> str:
    """What of a still-growing ``text`` will not change: up to its last whitespace, without
    a trailing fence line (see the module docstring).

    A fence line typed by the agent looks like one the relay added, so it is withheld too;
    the prefix of a later text may then be *shorter* than one sent before, but it is always
    a prefix of the final text.
    """
    head, newline, last = text.rpartition("\n")
    if newline and _FENCE_LINE.fullmatch(last):
        text = head
    tail = _TAIL.search(text)
    return text[: tail.start()] if tail else text


@dataclass(slots=True)
class _Stream:
    sent: str  # the Markdown appended so far
    live: bool = True  # False once the message fell back to chat.update


class NativeStreams:
    """The native streams of one surface (shared by its views)."""

    def __init__(self, api: SlackApi, *, stop_interval: float = 3.0) -> None:
        self._api = api
        self.disabled = False
        self._streams: dict[str, _Stream] = {}  # message ts -> stream
        self.stops = StopQueue(api, interval=stop_interval)

    def owns(self, message: MessageRef) -> bool:
        return message.message_id in self._streams

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
        if self.disabled or where.thread is None:
            return None
        first = stable_prefix(text)
        try:
            ts = await self._api.start_stream(
                where.channel, where.thread, first, team=team or where.workspace,
                user=recipient, scope=scope,
            )  # fmt: skip
        except SlackError as exc:
            if exc.code is None:
                raise  # network trouble: the relay retries the post
            if exc.code in _UNSUPPORTED:
                self.disabled = True
                log.warning("native streaming unavailable (%s): using chat.update", exc.code)
            else:
                log.warning("chat.startStream refused (%s): this reply uses chat.update", exc)
            return None
        self._streams[ts] = _Stream(first)
        while len(self._streams) > _MAX_STREAMS:
            del self._streams[next(iter(self._streams))]
        return ts

    async def edit(
        self, message: MessageRef, text: str, *, final: bool, scope: str, update: Update
    ) -> None:
        stream = self._streams[message.message_id]
        if stream.live:
            wanted = text if final else stable_prefix(text)
            if not final and stream.sent.startswith(wanted):
                return  # nothing new that is certain yet (a closing fence may be withheld)
            if wanted.startswith(stream.sent):
                try:
                    await self._extend(message, stream, wanted, final=final, scope=scope)
                    return
                except SlackError as exc:
                    if exc.code != STREAM_ENDED:
                        raise
                    log.info("stream %s ended; continuing with chat.update", message.message_id)
            else:
                await self._end_quietly(message, scope)
            stream.live = False
        await update(message, text, final)
        if final:
            self._streams.pop(message.message_id, None)

    async def _extend(
        self, message: MessageRef, stream: _Stream, wanted: str, *, final: bool, scope: str
    ) -> None:
        where, ts = message.where, message.message_id
        suffix = wanted[len(stream.sent) :]
        if not final:
            if suffix:
                await self._api.append_stream(where.channel, ts, suffix, scope=scope)
                stream.sent = wanted
            return
        if self.stops.busy:  # stops are queued: a direct one would meet a 429
            if suffix:
                await self._api.append_stream(where.channel, ts, suffix, scope=scope)
            self.stops.add(message, scope)
        else:
            try:
                await self._api.stop_stream(where.channel, ts, suffix, scope=scope)
            except RateLimited as limited:
                if suffix:  # the text must not wait for the stop: append it now
                    await self._api.append_stream(where.channel, ts, suffix, scope=scope)
                self.stops.add(message, scope, retry_after=limited.retry_after)
        self._streams.pop(ts, None)

    async def _end_quietly(self, message: MessageRef, scope: str) -> None:
        """Stop the stream before chat.update takes over (it may have ended already)."""
        try:
            await self._api.stop_stream(message.where.channel, message.message_id, "", scope=scope)
        except SurfaceError as exc:
            log.debug("stopping stream %s before fallback: %s", message.message_id, exc)

    async def aclose(self) -> None:
        await self.stops.aclose()
