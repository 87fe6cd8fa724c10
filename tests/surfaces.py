"""RecordingSurface: a faithful in-memory :class:`~core.surface.ChatSurface` for tests and
benchmarks.

It keeps what a chat platform keeps (each message's current text, in thread order), records
every call with the loop time it started and completed, and behaves like a platform where
it matters to the relay:

- it refuses texts longer than ``limits.max_message_chars`` (:class:`MessageTooLong`) and
  empty texts, as Slack and Discord do;
- calls take ``latency`` seconds of loop time (``edit_latency`` for edits, if given);
- ``rate_limit=(n, retry_after)`` answers 429 (:class:`RateLimited`) to any post or edit
  beyond ``n`` within the last second, like a platform whose real limit is below the
  configured budget;
- :meth:`fail` injects failures: the next ``times`` calls of a kind raise an error (a
  RateLimited with its ``retry_after``, MessageGone, a generic SurfaceError, or anything
  else), then calls succeed again — "fail N times then succeed"; ``times=None`` fails for
  ever (a failing surface);
- :meth:`delete` removes a message, so editing it raises :class:`MessageGone`.

For benchmarks, ``record=False`` keeps only each message's current text and edit count (no
call history), and ``on_update(message_id, text, completed_at)`` sees every successful post
and edit as it completes.

Time is the running loop's clock, so the surface works in fake time (looptime) as well.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from core.errors import MessageGone, MessageTooLong, RateLimited, SurfaceError
from core.surface import (
    BudgetScope,
    MessageRef,
    OutgoingFile,
    SurfaceAction,
    SurfaceLimits,
    Upload,
)
from core.turn import ThreadRef

__all__ = ["DEFAULT_LIMITS", "THREAD", "Call", "FeedbackSurface", "RecordingSurface"]

THREAD = ThreadRef(platform="test", workspace="W1", channel="C1", thread="T1")

DEFAULT_LIMITS = SurfaceLimits(
    max_message_chars=2000,
    min_edit_interval=1.0,
    max_file_bytes=1024 * 1024,
    max_files_per_message=10,
    streaming_indicator=" ▍",
)


@dataclass(slots=True)
class Call:
    """One call the relay made (kept in ``calls`` unless ``record=False``)."""

    kind: str  # "post" | "edit" | "status" | "upload" | "structured"
    started: float
    finished: float | None = None
    message_id: str | None = None
    text: str | None = None
    final: bool = False
    streaming: bool = False
    status: str | None = None
    files: tuple[OutgoingFile, ...] = ()
    data: BaseModel | None = None
    error: BaseException | None = None


@dataclass(slots=True)
class _Failure:
    kind: str
    error: Callable[[], BaseException]
    times: int | None  # None: for ever


@dataclass(slots=True)
class _Message:
    where: ThreadRef
    text: str
    edits: int = 0
    final: bool = False
    deleted: bool = False
    calls: list[Call] = field(default_factory=list)


class RecordingSurface:
    """See the module docstring. ``render`` defaults to the identity."""

    def __init__(
        self,
        *,
        limits: SurfaceLimits = DEFAULT_LIMITS,
        scopes: Sequence[BudgetScope] = (),
        latency: float = 0.0,
        edit_latency: float | None = None,
        render: Callable[[str], str] | None = None,
        rate_limit: tuple[int, float] | None = None,
        record: bool = True,
        on_update: Callable[[str, str, float], None] | None = None,
    ) -> None:
        self.limits = limits
        self.scopes = tuple(scopes)
        self.latency = latency
        self.edit_latency = latency if edit_latency is None else edit_latency
        self._render = render
        self._rate_limit = rate_limit
        self._recent: deque[float] = deque()  # completion times of recent posts/edits
        self.record = record
        self.on_update = on_update
        self.calls: list[Call] = []
        self.messages: dict[str, _Message] = {}  # in post order (dicts keep insertion order)
        self._ids = itertools.count(1)
        self._failures: list[_Failure] = []
        self.statuses: list[str | None] = []
        self.rate_limited = 0

    # --- ChatSurface --------------------------------------------------------------------------

    def render(self, markdown: str) -> str:
        return self._render(markdown) if self._render is not None else markdown

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        return self.scopes

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        call = self._record("post", text=text, streaming=streaming)
        await self._work(call, self.latency, text)
        message_id = f"m{next(self._ids)}"
        call.message_id = message_id
        message = _Message(where, text, final=not streaming)
        if self.record:
            message.calls.append(call)
        self.messages[message_id] = message
        self._updated(message_id, text, call)
        return MessageRef(where, message_id)

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        call = self._record("edit", text=text, final=final, message_id=message.message_id)
        target = self.messages.get(message.message_id)
        if target is None or target.deleted:
            call.error = MessageGone(message.message_id)
            call.finished = call.started
            raise call.error
        await self._work(call, self.edit_latency, text)
        target.text = text
        target.edits += 1
        target.final = target.final or final
        if self.record:
            target.calls.append(call)
        self._updated(message.message_id, text, call)

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        call = self._record("status", status=status)
        await self._work(call, self.latency, None)
        self.statuses.append(status)

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        # What a platform keeps: a copy of each file (the caller closes the sources after).
        kept = tuple(
            OutgoingFile.from_bytes(f.name, f.rewound().read(), f.format_type) for f in files
        )
        call = self._record("upload", files=kept)
        if len(files) > self.limits.max_files_per_message:
            raise SurfaceError(f"{len(files)} files in one message")
        too_big = [f.name for f in files if f.size > self.limits.max_file_bytes]
        if too_big:
            raise SurfaceError(f"files too large: {too_big}")
        await self._work(call, self.latency, None)

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        call = self._record("structured", text=fallback, data=data)
        await self._work(call, self.latency, None)

    # --- test controls ------------------------------------------------------------------------

    def fail(
        self,
        kind: str,
        error: BaseException | Callable[[], BaseException],
        *,
        times: int | None = 1,
    ) -> None:
        """The next ``times`` calls of ``kind`` ("post", "edit", "status", "upload",
        "structured") raise ``error`` (an instance, or a factory for a fresh one each time)."""
        factory = error if callable(error) else (lambda: error)
        self._failures.append(_Failure(kind, factory, times))

    def heal(self) -> None:
        """Stop every injected failure."""
        self._failures.clear()

    def delete(self, message_id: str) -> None:
        """The message disappears; editing it raises MessageGone."""
        self.messages[message_id].deleted = True

    # --- views --------------------------------------------------------------------------------

    def texts(self, where: ThreadRef | None = None) -> list[str]:
        """The current text of every message still in the thread, in order."""
        return [
            m.text
            for m in self.messages.values()
            if not m.deleted and (where is None or m.where == where)
        ]

    def calls_of(self, kind: str, message_id: str | None = None) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.kind == kind and (message_id is None or c.message_id == message_id)
        ]

    def updates_of(self, message_id: str) -> list[Call]:
        """The successful post and edits that made a message show what it shows."""
        return [c for c in self.messages[message_id].calls if c.error is None]

    # --- internals ----------------------------------------------------------------------------

    def _record(self, kind: str, **fields: object) -> Call:
        now = asyncio.get_running_loop().time()
        call = Call(kind, now, **fields)  # type: ignore[arg-type]
        if self.record:
            self.calls.append(call)
        return call

    def _updated(self, message_id: str, text: str, call: Call) -> None:
        if self.on_update is not None:
            assert call.finished is not None
            self.on_update(message_id, text, call.finished)

    async def _work(self, call: Call, latency: float, text: str | None) -> None:
        """Take ``latency``, then fail as injected or as the platform would, or succeed."""
        if latency > 0:
            await asyncio.sleep(latency)
        loop = asyncio.get_running_loop()
        call.finished = loop.time()
        error = self._injected(call.kind) or self._refusal(call.kind, text, call.finished)
        if error is not None:
            call.error = error
            raise error

    def _injected(self, kind: str) -> BaseException | None:
        for failure in self._failures:
            if failure.kind == kind:
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                return failure.error()
        return None

    def _refusal(self, kind: str, text: str | None, now: float) -> SurfaceError | None:
        if kind not in ("post", "edit") or text is None:
            return None
        if not text.strip():
            return SurfaceError("no_text")
        if len(text) > self.limits.max_message_chars:
            return MessageTooLong(f"{len(text)} > {self.limits.max_message_chars}")
        if self._rate_limit is not None:
            most, retry_after = self._rate_limit
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= most:
                self.rate_limited += 1
                scope = self.scopes[0].key if self.scopes else None
                return RateLimited(retry_after, scope=scope)
            self._recent.append(now)
        return None


class FeedbackSurface(RecordingSurface):
    """A surface with feedback controls (as Slack's and Discord's have): ``offer_feedback``
    is a final edit that also shows them."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.offered: list[tuple[str, str]] = []

    async def offer_feedback(self, message: MessageRef, text: str) -> None:
        await self.edit(message, text, final=True)
        self.offered.append((message.message_id, text))

    async def post_feedback(self, where: ThreadRef, text: str, *, key: str) -> MessageRef:
        message = await self.post(where, text, key=key)
        self.offered.append((message.message_id, text))
        return message
