"""The one protocol every chat platform adapter implements, and the values it trades in.

The relay only talks to a :class:`ChatSurface`. A surface declares its limits (message size,
edit interval, file size) and the rate-limit budgets its edits draw on; the relay and the
edit scheduler obey them, so adapters stay thin translators of API calls.

Optional behaviour and its fallback:

- ``set_status``: a "thinking" / typing indicator. A surface without one makes it a no-op;
  the first text, posted the moment it arrives, is then the first sign of life.
- ``upload``: a surface that cannot attach files posts their names and links instead.
- ``post_structured``: a surface without a native layout posts the fallback text.
- ``tell_privately(where, user, markdown, *, about)`` (not in the protocol; see
  :class:`core.governance.notices.PrivateNotices`): a note only ``user`` sees (Slack:
  ephemeral; Discord: a DM). Without it a refused user is not told (it is logged).
- ``file_limit(where) -> int`` (not in the protocol): the file cap in that place when it
  varies (a Discord guild's boost level); without it, ``limits.max_file_bytes`` applies.
- Native streaming (Slack ``chat.appendStream``) is hidden behind ``edit``: the surface may
  send only what was appended since its last call and fall back to a full edit itself.
- ``strays`` and ``finalise_stray(stray) -> bool`` (not in the protocol; see
  :class:`core.ops.recovery.reaper.SweepsStrays`): a surface that retries a post without
  knowing whether an earlier try landed (Slack: no idempotency key, and the lookup failed)
  leaves a :class:`StrayCopy` through ``strays`` (set by crash recovery: the record is in
  Redis), and any replica's reaper later has it finalised by ``finalise_stray``.
- ``owed_edits`` (not in the protocol; see :class:`core.ops.recovery.reaper.LeavesEdits`):
  a surface whose final edit may return before it is whole on the platform (a Slack
  stream's stop queued behind its rate limit) reports it there as an :class:`OwedEdit`,
  until it is made: crash recovery keeps it, so a reaper makes it should the process die.
"""

from __future__ import annotations

import asyncio
import io
import secrets
from collections.abc import AsyncIterator, Collection, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal, Protocol, runtime_checkable

from pydantic import BaseModel

from core.turn import ThreadRef

__all__ = [
    "FILE_BLOCK",
    "BudgetScope",
    "ChatSurface",
    "LostPost",
    "MessageRef",
    "OutgoingFile",
    "OwedEdit",
    "OwedEdits",
    "ShowsFeedback",
    "StrayCopy",
    "SurfaceAction",
    "SurfaceLimits",
    "Upload",
    "post_key",
]

SurfaceAction = Literal["post", "edit", "read"]
"""``read``: crash recovery reading one of the bot's messages back (a surface's
``shows_final``, see :class:`core.ops.recovery.reaper.ReadsMessages`)."""

FILE_BLOCK = 256 * 1024
"""Bytes of an outgoing file read at a time while it is streamed to a platform."""


def post_key() -> str:
    """A fresh ``key`` for :meth:`ChatSurface.post`: 16 hex characters (Discord takes a
    nonce of at most 25)."""
    return secrets.token_hex(8)


@dataclass(frozen=True, slots=True)
class BudgetScope:
    """A rate-limit budget shared by every message that draws on it.

    ``key`` is unique per budget (``"slack:T123:chat.update"``, ``"discord:bot"``,
    ``"discord:channel:42"``); ``rate`` is the ceiling in requests per second and ``burst``
    how many may go at once after a quiet period.
    """

    key: str
    rate: float
    burst: float = 1.0


@dataclass(frozen=True, slots=True)
class SurfaceLimits:
    """What one platform allows; the relay never exceeds these."""

    max_message_chars: int
    min_edit_interval: float
    max_file_bytes: int
    max_files_per_message: int = 10
    # The smallest file the platform takes: a smaller one is reported, not sent (one
    # refused file would fail the whole upload, and the other files sent with it).
    min_file_bytes: int = 0
    streaming_indicator: str = " ▍"


@dataclass(frozen=True, slots=True)
class MessageRef:
    """A message the relay posted and may edit.

    ``stream``: the surface posted it as a native stream (Slack's ``chat.startStream``); a
    surface that did not start it (another replica finishing an orphan) stops the stream
    before its final edit. Not part of the identity: it only says how to finish it.
    """

    where: ThreadRef
    message_id: str
    stream: bool = field(default=False, compare=False)


@dataclass(frozen=True, slots=True)
class StrayCopy:
    """A copy of a post that may be in the thread, still streaming: a try whose outcome was
    unknown, retried without finding it (the lookup failed), so the retry's message
    (``kept``) may have a twin that nobody edits. Whoever finds it gives it ``text`` for
    good (no indicator, no Stop control).

    ``shown``: what the copy may show (the texts of the try as sent); ``native``: the try
    may have started a native stream (it shows a prefix of them); ``since``: wall-clock
    time of the first try (epoch seconds), so the lookup starts there.

    ``kept`` is empty while the retry is in flight: the copy is left *before* the blind
    retry is sent (a process killed before its answer would otherwise leave no trace of the
    stray), then left again, under the same ``key`` (the post's), once the retry's message
    is known. Any copy found of a post left unanswered is a stray.
    """

    where: ThreadRef
    text: str
    shown: tuple[str, ...]
    since: float
    kept: str
    native: bool = False
    key: str = ""


@dataclass(frozen=True, slots=True)
class OwedEdit:
    """A final edit a surface owes after the reply's own final edit returned (a Slack
    stream whose final stop waits for its rate limit): crash recovery keeps it until the
    surface makes it, and its reapers make it should the process die or stop first
    (:class:`OwedEdits`). ``text`` is what the message shows for good; ``controls``: its
    final edit carries the feedback controls; ``key``: the same for every report of it."""

    message: MessageRef
    text: str
    controls: bool = False
    key: str = field(default_factory=post_key, compare=False)


@runtime_checkable
class OwedEdits(Protocol):
    """Crash recovery's side of the final edits a surface owes (set on the surface:
    :class:`core.ops.recovery.reaper.LeavesEdits`). The reply's record is dropped once its
    final edit returns: what the surface still owes then is known only here."""

    async def owe(self, edit: OwedEdit) -> None:
        """``edit`` is owed from now on: a reaper makes it should this process die first.
        Returns once it is registered (bounded: it never holds a reply long)."""
        ...

    def made(self, edit: OwedEdit) -> None:
        """``edit`` was made (or is no longer the surface's to make): forgotten, in the
        background."""
        ...

    async def leave(self, edit: OwedEdit) -> None:
        """This process stops without making ``edit``: a reaper makes it now."""
        ...


@dataclass(frozen=True, slots=True)
class LostPost:
    """What crash recovery knows of a post whose answer was lost, to find it again (a
    surface's ``find_open_post``, see :class:`core.ops.recovery.reaper.FindsOpenPosts`).

    ``after``: the reply's last known message (None: the thread's start); ``known``: the
    reply's own messages, never taken for the lost one; ``text``: what the lost post sent,
    when known (it identifies a post that shows neither the streaming indicator nor the
    Stop control, or that went elsewhere).
    """

    where: ThreadRef
    after: str | None
    known: Collection[str]
    text: str | None = None


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """An artifact ready to attach, read from a file instead of held in memory.

    ``source`` is a readable, seekable binary file of ``size`` bytes: a spooled download
    (:class:`core.download.Spool`: in memory while small, a temporary file past 1 MiB), so
    ten 24 MiB artifacts cost disk, not RSS. Whoever made the OutgoingFile owns and closes
    ``source``; a surface streams it (:meth:`blocks`, or :meth:`rewound` for a client that
    reads a file object itself) from the start on every attempt, and never closes it.
    """

    name: str
    source: IO[bytes]
    size: int
    format_type: str = ""

    @classmethod
    def from_bytes(cls, name: str, data: bytes, format_type: str = "") -> OutgoingFile:
        """A small file made in memory (a generated note, a test's file)."""
        return cls(name, io.BytesIO(data), len(data), format_type)

    def rewound(self) -> IO[bytes]:
        """``source``, positioned at its start (a retry re-reads it whole)."""
        self.source.seek(0)
        return self.source

    async def blocks(self, size: int = FILE_BLOCK) -> AsyncIterator[bytes]:
        """The bytes from the start, ``size`` at a time, each read off the event loop (a
        spooled file is on disk)."""
        source = self.rewound()
        while block := await asyncio.to_thread(source.read, size):
            yield block


@runtime_checkable
class ChatSurface(Protocol):
    """A chat platform as the relay sees it. Raise only :mod:`core.errors` exceptions."""

    limits: SurfaceLimits

    def render(self, markdown: str) -> str:
        """Turn the agent's Markdown into this platform's dialect (pure, no I/O)."""
        ...

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        """The budgets that ``action`` ("post", "edit" or "read") in ``where`` draws on.

        Platforms limit methods separately (Slack: ``chat.postMessage`` per channel,
        ``chat.update`` per workspace), so posting must not spend the edit budget.
        """
        ...

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        """Post a new message; ``streaming`` lets the surface add a Stop control.

        ``key`` (:func:`post_key`) is the same on every try of one post: a try whose outcome
        is unknown (it timed out, the connection dropped after sending) may have landed, and
        the retry must not post it twice. A surface uses it as the platform's idempotency
        key where there is one (Discord's ``nonce``), or looks for the earlier try first
        (Slack); a surface that can do neither may ignore it."""
        ...

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        """Replace the message's text; ``final`` removes any streaming-only controls."""
        ...

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        """Show (or with ``None`` clear) a thinking / typing indicator."""
        ...

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        """Attach files in the thread, splitting into several messages if needed, in
        order. ``upload``: the same on every try of this upload (:class:`Upload`: its key,
        and the files that landed)."""
        ...

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        """Post structured output in the platform's native layout (or ``fallback`` where
        it is refused). ``key`` (:func:`post_key`): the same on every try, as :meth:`post`'s."""
        ...


@dataclass(slots=True)
class Upload:
    """One upload of files, the same object on every try of it.

    ``key`` (:func:`post_key`): as :meth:`ChatSurface.post`'s, lets a retry find what a try
    whose answer was lost posted, instead of attaching the files twice. ``landed``: how many
    of the files, from the first on, are in the thread: a surface that splits the upload
    into several messages (Discord: 10 MiB a message) raises it as each message lands, and a
    try sends only the files after those; a surface that sends one message for all of them
    ignores it. The caller owns it, so the count outlives a try cut off half-way (the relay's
    call timeout cancels the call: the error it then gets carries nothing), and those files
    are neither sent again nor reported as failed."""

    key: str | None = None
    landed: int = 0


@runtime_checkable
class ShowsFeedback(Protocol):
    """A surface whose final edit can carry the feedback controls (👍 / 👎), beyond the
    protocol: the relay's final edit of a completed reply, or a reaper's made for it."""

    async def offer_feedback(self, message: MessageRef, text: str) -> None:
        """The final edit of ``message`` to show ``text``, with the controls under it."""
        ...
