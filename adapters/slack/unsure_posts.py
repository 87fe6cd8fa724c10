"""A post whose outcome is unknown, and its retry: never two copies left streaming.

A ``chat.postMessage`` (or ``chat.startStream``) that timed out on our side, or whose
connection dropped after the request was sent, may have been applied: Slack says so of its
own transient errors too ("It's possible some aspect of the operation succeeded before the
error was raised", ``internal_error`` in docs.slack.dev reference/methods/chat.postMessage).
The relay retries such a post (:class:`~core.relay.sender.Sender`), and Slack has no
idempotency key: the retry would leave a second message, the first one open for ever with
its indicator and Stop button.

So every try of one post carries the same ``key`` (:func:`core.surface.post_key`), and
before a retry whose previous try ended unknown the thread is searched for that try
(``conversations.replies``, as crash recovery does: :mod:`adapters.slack.lost_posts`): the
bot's message, newer than the first try (less a margin for the clocks: a ``ts`` is Slack's
epoch time), showing the text being posted. Found, it is adopted: the retry returns it and
posts nothing.

The lookup is bounded: one call's timeout (:class:`~adapters.slack.api.SlackApi`) for all
of it, a few pages of 15, and no wait for its budget (``conversations.replies`` is Tier 3,
only 1 per minute for non-Marketplace commercial apps: a 429 is a failed lookup, not a
pause). When the lookup itself fails (a timeout, a 429, Slack still down), *the retry
posts anyway*: a duplicate is better than a lost reply. The earlier try, if it landed, is
then a stray still showing the indicator and the Stop button; once the retry has landed, it
is left to crash recovery as a :class:`~core.surface.StrayCopy` (a record in Redis:
:mod:`core.ops.recovery`), and a reaper of any replica — this one, or another one should
this one die first — looks for it a few times with backoff and finalises it (its text
without the indicator, no button; a native stream stopped first: :meth:`UnsurePosts.sweep`).
The record is written *before* the blind retry is sent, without the retry's message
(looked for later, once that try has surely been answered), and written again with it
once it is known: a process killed after the retry landed and before its answer used to
leave no record, and the stray stayed open for ever. Left open: a stray the lookups never
find, and one whose record could not be written (Redis down). A duplicate of a final text
(a post without controls) is left as it is: it shows nothing open.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from adapters.slack.api import SlackApi
from adapters.slack.blocks import STOP_ACTION_ID
from adapters.slack.thread_scan import bot_messages
from core.errors import PlatformUnavailable, SurfaceError
from core.surface import MessageRef, StrayCopy
from core.turn import ThreadRef

__all__ = ["UnsurePosts", "outcome_unknown"]

log = logging.getLogger(__name__)

_MAX_REMEMBERED = 1000


def outcome_unknown(exc: BaseException) -> bool:
    """Whether a failed post may have landed all the same: it was cut off by a timeout
    (ours or the caller's, a cancellation) or failed in transit (no answer, a 5xx, one of
    Slack's transient codes). A refusal (a 4xx, an error code) was not applied."""
    return isinstance(exc, TimeoutError | asyncio.CancelledError | PlatformUnavailable)


@dataclass(slots=True)
class _Post:
    where: ThreadRef
    text: str  # as the surface was asked to post it
    texts: frozenset[str]  # what the message may show: as sent, and Slack's mrkdwn of it
    first: float  # wall-clock time of the first try
    native: bool = False  # a try would start a native stream (it shows a prefix, bare)
    open: bool = True  # it carries the indicator or controls (a copy would be left open)
    unknown: bool = False  # a try ended without knowing whether it landed
    blind: bool = False  # a lookup failed and a try was sent anyway: a stray may exist


class UnsurePosts:
    """The tries of the posts in flight, by key (see the module docstring)."""

    def __init__(
        self,
        api: SlackApi,
        *,
        me: Callable[[], tuple[str, str] | None],
        indicator: str,
        finalise: Callable[[MessageRef, str], Awaitable[None]],
        strays: Callable[[], Callable[[StrayCopy], Awaitable[None]] | None],
    ) -> None:
        """``finalise(message, text)``: make a stray show ``text`` for good (the surface's
        final edit, a native stream stopped first); ``strays()``: where a stray is left
        (crash recovery's registry; None: nowhere, it is logged)."""
        self._api = api
        self._me = me
        self._indicator = indicator
        self._finalise = finalise
        self._strays = strays
        self._posts: dict[str, _Post] = {}

    def sending(
        self, key: str, where: ThreadRef, text: str, shown: Collection[str], *, native: bool,
        open: bool = True,
    ) -> None:  # fmt: skip
        """A try of the post ``key`` of ``text`` is about to be sent; ``shown``: the texts
        the message may show (Slack's ``text`` field); ``native``: it may start a native
        stream (shown without the indicator, as a prefix of the text); ``open``: it shows
        the indicator or controls (False: a final text, whose duplicate is left as it is)."""
        post = self._posts.get(key)
        if post is None:
            texts = frozenset(t for t in (text, *shown) if t)
            post = self._posts[key] = _Post(where, text, texts, time.time(), open=open)
            while len(self._posts) > _MAX_REMEMBERED:
                del self._posts[next(iter(self._posts))]
        post.native = post.native or native

    async def attempt(
        self, key: str, where: ThreadRef, text: str, shown: Collection[str],
        send: Callable[[], Awaitable[MessageRef]], *, native: bool, open: bool = True,
    ) -> MessageRef:  # fmt: skip
        """One try of the post ``key``: ``send()``, between :meth:`sending` and
        :meth:`failed` or :meth:`landed` (their arguments as :meth:`sending`'s)."""
        self.sending(key, where, text, shown, native=native, open=open)
        try:
            message = await send()
        except BaseException as exc:
            self.failed(key, exc)
            raise
        await self.landed(key, message)
        return message

    def failed(self, key: str, exc: BaseException) -> None:
        post = self._posts.get(key)
        if post is not None and outcome_unknown(exc):
            post.unknown = True

    async def landed(self, key: str, message: MessageRef) -> None:
        """The post ``key`` is ``message``; a stray of an earlier try is left to be swept."""
        post = self._posts.pop(key, None)
        if post is not None and post.blind:
            await self._leave(key, post, message.message_id)

    async def _leave(self, key: str, post: _Post, kept: str) -> None:
        """Leave the stray of a post retried blind to crash recovery (``kept``: the message
        the post is, "" while the retry is unanswered)."""
        if not post.open:
            return
        leave = self._strays()
        if leave is None:
            log.warning("a post in %s was retried blind and nothing sweeps for its stray "
                        "copy: it may keep showing the indicator", post.where)  # fmt: skip
            return
        text = post.text.removesuffix(self._indicator)
        await leave(StrayCopy(post.where, text, tuple(sorted(post.texts)), post.first,
                              kept, post.native, key))  # fmt: skip

    async def find(self, key: str) -> tuple[MessageRef, str] | None:
        """An earlier try of ``key`` that landed, to adopt instead of posting again; None
        when no try is unsure, when none landed, or when the lookup failed (then the post
        goes out anyway: see the module docstring). With the message, the text that try
        sent (the post may now be of a longer one)."""
        post = self._posts.get(key)
        if post is None or not post.unknown:
            return None
        try:
            # All pages within one call's timeout: the post after it must still fit in the
            # relay's call timeout, or a hung lookup would fail every try of the post.
            async with asyncio.timeout(self._api.timeout):
                found = await self._look(post.where, post.first, post.texts,
                                         native=post.native, exclude=())  # fmt: skip
        except (SurfaceError, TimeoutError) as exc:
            post.blind = True
            log.warning("could not look for a post that may have landed (%s): posting it "
                        "again; a copy left streaming is finalised later", exc)  # fmt: skip
            await self._leave(key, post, "")  # before the retry: see the module docstring
            return None
        if found is None:
            return None
        del self._posts[key]
        if post.blind:  # a stray was left before a blind try: this copy is the one kept
            await self._leave(key, post, found.message_id)
        log.warning("a post to %s timed out but had landed (%s): adopted, not posted again",
                    post.where, found.message_id)  # fmt: skip
        return found, post.text

    async def sweep(self, stray: StrayCopy) -> bool:
        """Find ``stray`` and finalise it; False when it is not there (see the module
        docstring). Raises :class:`~core.errors.SurfaceError` or TimeoutError."""
        async with asyncio.timeout(self._api.timeout):  # the lookup, as a retry's is
            found = await self._look(stray.where, stray.since, frozenset(stray.shown),
                                     native=stray.native, exclude=(stray.kept,),
                                     reply=stray.text if not stray.kept else None)  # fmt: skip
        if found is None:
            return False
        await self._finalise(found, stray.text)
        log.warning("finalised %s, a copy of a post retried blind in %s", found.message_id,
                    stray.where)  # fmt: skip
        return True

    # --- internals -----------------------------------------------------------------------

    async def _look(
        self, where: ThreadRef, since: float, texts: frozenset[str], *, native: bool,
        exclude: Collection[str], reply: str | None = None,
    ) -> MessageRef | None:  # fmt: skip
        """The oldest of the bot's messages in the thread since ``since`` (the first try)
        that shows one of ``texts`` (``native``: a native stream, a prefix of one).

        ``reply``: the post's final text, when the message the reply kept is unknown (a
        stray left before its retry was answered): the oldest copy of the post — still
        open, or already finished by the reply's own record with a notice after the text —
        is the one the reply's record finishes (the oldest open message after the reply's
        last), so it is passed over and only a later copy is this stray."""
        me = self._me()
        if me is None:
            return None
        skip = reply is not None
        async for raw in bot_messages(self._api, where, since=since, me=me):
            ts = raw.get("ts")
            if not isinstance(ts, str) or ts in exclude:
                continue
            stream = self._shows(raw, texts, native=native)
            if skip and (stream is not None or _plain(str(raw.get("text") or "")).startswith(
                    _plain(str(reply)))):  # fmt: skip
                skip = False  # the reply's own copy (see above)
                continue
            if stream is not None:
                return MessageRef(where, ts, stream=stream)
        return None

    def _shows(self, raw: dict[str, Any], texts: frozenset[str], *, native: bool) -> bool | None:
        """None: ``raw`` is not this post; else whether it is a native stream."""
        shown = _plain(str(raw.get("text") or ""))
        if any(shown == _plain(text) for text in texts):
            return False
        if not native or raw.get("files") or STOP_ACTION_ID in str(raw.get("blocks") or ""):
            return None
        # A native stream shows what was appended of the text, without the indicator
        # (adapters.slack.native sends a stable prefix).
        bare = [_plain(t.removesuffix(self._indicator)) for t in texts]
        return True if any(text.startswith(shown) for text in bare) else None


def _plain(text: str) -> str:
    """Text as compared: Slack stores ``&``, ``<`` and ``>`` escaped (docs.slack.dev
    messaging/formatting-message-text, "Escaping text")."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()
