"""The relay: from an agent's stream of chunks to messages a chat user watches grow.

One :meth:`Relay.deliver` per reply. It runs two tasks and supervises them:

- the *pump* reads the agent's stream and drops each chunk's text into an :class:`Inbox`
  (O(chunk), nothing else), so a slow platform never slows the agent's HTTP stream;
- the *writer* (:class:`ReplyWriter`) shows that text: first text at once, then paced,
  coalesced edits, new messages when a page is full.

The supervisor waits for the stream to end, a Stop (``cancelled`` event), the turn's
timeout or its own cancellation. On a stop it closes the agent's iterator
(``aclose()``: that closes the HTTP stream, so the agent stops for real). Then it finishes:
final edits with a notice if the reply failed or was stopped, the thinking status cleared,
structured data and artifacts handed to the surface. Every step is bounded; what could not
be shown is reported in the :class:`ReplyOutcome`, never raised.

Crash recovery: an optional ``observer`` (:class:`ReplyObserver`) is told, before each
edit and after each completed post or edit (never per chunk), what each message shows, and
when the reply is over; :mod:`core.ops.recovery` keeps that in Redis so another replica can
finish a reply whose process died, or whose final edits a platform outage held back. A
caller that registered the turn earlier (while it was queued) passes its ``tracker``.

While nothing new shows — the agent quiet (tools), the first post queued for the budget —
:class:`~core.relay.keepalive.KeepAlive` keeps the thread status alive ("Still working…",
"Queued…", refreshed), so a user never watches a thread that looks dead.
Feedback: with an ``offer_feedback`` callback, a reply that completed gets feedback
controls on its last message, carried by that message's final edit (no request of their
own, nothing after the answer): the callback records the reply first (one bounded call,
begun as soon as the message is posted, while the reply streams:
:class:`~core.relay.records.FeedbackRecords`; False or a failure: the edit goes without
controls), and the surface's optional
``offer_feedback(message, text)`` is that final edit with the controls. A final text that
is posted (the reply's first post still queued when it ended) carries them through the
surface's optional ``post_feedback(where, text, key=...)``, and is recorded once posted.
Final edits left to the recovery reapers carry them too (the reaper makes that edit with
the surface's ``offer_feedback``), once the message's record has landed; final posts left
to them carry none; nor do notices, failed or stopped replies.

Placeholder or status: the relay sets the surface's thinking status at once and posts the
first message with the first text, not a placeholder: a placeholder costs one more edit of
the shared budget per reply, and a surface without a status shows the first text as soon as
it arrives anyway (the agent's time to first token is what the user waits for either way).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Protocol, TypeVar

import httpx
from pydantic import BaseModel

from core.agents.batching import READ_HOLD
from core.errors import (
    AgentError,
    AgentTimeoutError,
    MessageGone,
    MessageTooLong,
    SurfaceError,
    Undeliverable,
)
from core.models import (
    ARTIFACTS_ERROR_KEY,
    DEFAULT_ARTIFACT_MAX_BYTES,
    UNREADABLE_ARTIFACTS_KEY,
    AgentStream,
)
from core.ops.tasks import by_shutdown
from core.relay.attachments import Attachments
from core.relay.inbox import Inbox
from core.relay.keepalive import KEEP_ALIVE_QUIET, KEEP_ALIVE_REFRESH, KeepAlive
from core.relay.notices import DEFAULT_NOTICES, Notices
from core.relay.outcome import ReplyOutcome, ReplyStatus
from core.relay.records import FeedbackRecords
from core.relay.sender import Deadline, EditBudget, RetryPolicy, Sender
from core.relay.updates import End
from core.relay.writer import FinalControls, ReplyWriter
from core.surface import (
    BudgetScope,
    ChatSurface,
    MessageRef,
    OutgoingFile,
    ShowsFeedback,
    SurfaceAction,
    Upload,
    post_key,
)
from core.turn import ThreadRef

# ReplyOutcome re-exported: deliver() returns it
__all__ = ["OfferFeedback", "Relay", "ReplyObserver", "ReplyOutcome", "ReplyTracker"]

OfferFeedback = Callable[[MessageRef], Awaitable[bool]]
"""Record the reply whose last message is this one; False: offer no controls."""

log = logging.getLogger(__name__)

T = TypeVar("T")

# A page must hold real text besides the indicator and a reopened fence with its language.
_MIN_PAGE = 64
# An agent stream told to stop gets this long to run its cleanup (closing its HTTP
# response) before the relay moves on without it.
_CLOSE_TIMEOUT = 10.0


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


class Relay:
    """Delivers agent replies to one chat surface, drawing on a shared edit budget."""

    def __init__(
        self,
        surface: ChatSurface,
        scheduler: EditBudget,
        *,
        artifact_max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES,
        http_client: httpx.AsyncClient | None = None,
        notices: Notices = DEFAULT_NOTICES,
        policy: RetryPolicy | None = None,
        observer: ReplyObserver | None = None,
        turn_timeout: float | None = None,
        keep_alive: tuple[float, float] = (KEEP_ALIVE_QUIET, KEEP_ALIVE_REFRESH),
    ) -> None:
        """``turn_timeout`` (``THREADCAST_TURN_TIMEOUT``): how long a reply may take, from
        the agent's request to its last file; ``keep_alive``: (quiet, refresh) seconds of
        the thread status while nothing new shows (:mod:`core.relay.keepalive`)."""
        limits = surface.limits
        if limits.max_message_chars - len(limits.streaming_indicator) < _MIN_PAGE:
            raise ValueError(f"max_message_chars too small for a page: {limits}")
        self.surface = surface
        self.scheduler = scheduler
        self.artifact_max_bytes = artifact_max_bytes
        self.http_client = http_client
        self.notices = notices
        self.policy = policy or RetryPolicy()
        self.observer = observer
        self.turn_timeout = turn_timeout
        self.keep_alive = keep_alive

    async def deliver(
        self,
        where: ThreadRef,
        chunks: AsyncIterator[AgentStream],
        *,
        cancelled: asyncio.Event | None = None,
        turn_timeout: float | None = None,
        offer_feedback: OfferFeedback | None = None,
        tracker: ReplyTracker | None = None,
        interrupted_notice: str | None = None,
        surface: ChatSurface | None = None,
    ) -> ReplyOutcome:
        """Stream ``chunks`` into the thread ``where``; see the module docstring.

        ``cancelled`` set (Stop button, interrupt) or this task cancelled: the agent stream
        is closed and the partial text kept with a "stopped" notice; on task cancellation
        :class:`asyncio.CancelledError` is re-raised once the reply is finalised.
        ``interrupted_notice``: the notice instead of "stopped" when a shutdown cancelled
        the task (:data:`core.ops.tasks.SHUTDOWN`). ``surface``: where this reply goes, when
        it is not the relay's own (a view of it for the turn's recipient, say).
        ``turn_timeout`` (default: the relay's) bounds the whole reply, artifacts included:
        the stream is then cut with a timeout notice, files not fetched in time are named in
        the artifacts' notice. Time spent queued for the platform's budget is not the
        reply's: it never times out (the thread status says it is queued).
        """
        loop = asyncio.get_running_loop()
        limit = self.turn_timeout if turn_timeout is None else turn_timeout
        ends_at = None if limit is None else loop.time() + limit
        inbox = Inbox()
        last: list[AgentStream] = []
        on = self.surface if surface is None else surface
        sender = self._sender(on, where)
        watch = tracker if tracker is not None else self._watch(where)
        records = self._records(on, offer_feedback)
        writer = ReplyWriter(on if watch is None else _Watched(on, watch), sender, where, inbox,
                             self.policy, records)  # fmt: skip
        status_calls: set[asyncio.Task[None]] = set()
        quiet, refresh = self.keep_alive

        async def show(text: str | None) -> None:
            # A status may post a message (Slack's "Thinking…" placeholder): never before
            # the turn's recovery record has landed, or a crash leaves it open for ever.
            if watch is not None and text is not None:
                await _registered(watch)
            await self._set_status(on, where, text)

        alive = KeepAlive(
            inbox, lambda: bool(writer.messages), show, self.notices, quiet=quiet,
            refresh=refresh,
        )  # fmt: skip

        def show_status(text: str) -> None:  # an agent's progress chunk; the pump never waits
            alive.shown(text, progress=True)
            task = asyncio.create_task(show(text))
            status_calls.add(task)
            task.add_done_callback(status_calls.discard)

        def queued(kind: str) -> None:  # the first post waits for the budget: say so
            if kind == "post":
                alive.mark_queued()

        sender.on_queued = queued
        pump = asyncio.create_task(self._pump(chunks, inbox, last, show_status), name="relay-pump")
        writing: asyncio.Task[None] | None = None
        keeping: asyncio.Task[None] | None = None
        interruption: asyncio.CancelledError | None = None
        try:
            try:
                started = loop.time()
                await show(self.notices.thinking)
                alive.shown(self.notices.thinking)
                keeping = asyncio.create_task(alive.run(started), name="relay-keep-alive")
                writing = asyncio.create_task(writer.run(), name="relay-writer")
                stop = await self._until_end(pump, cancelled, limit)
            except asyncio.CancelledError as exc:
                interruption = exc
                stop = End.INTERRUPTED if by_shutdown(exc) else End.STOPPED
            if stop is not End.DONE:
                await self._stop(pump)
            await _aclose(chunks)
            status, error = self._verdict(stop, pump)
            inbox.end()
            final = last[0] if last and status == "completed" else None
            notice = self._notice(stop, status, error, final, interrupted_notice)
            controls = None
            if status == "completed" and records is not None:
                controls = self._controls(on, watch, records)
            await self._finish_text(
                writer, writing, sender, notice, self._if_empty(final), watch, controls
            )
            if watch is not None:
                _quietly(watch.finished)
            await _cancelled(keeping)
            for call in list(status_calls):
                call.cancel()  # a late progress status must not outlive the clear below
            await self._set_status(on, where, None)
            outcome = ReplyOutcome(
                status=status,
                text=writer.book.text,
                messages=writer.messages,
                error=error,
                undelivered=writer.undelivered,
                feedback=writer.feedback,
            )
            if final is not None:
                await self._extras(on, sender, where, final, outcome, ends_at)
        finally:
            for task in (pump, writing, keeping):
                if task is not None and not task.done():
                    task.cancel()
            if records is not None:
                records.close()
        if interruption is not None:
            raise interruption
        return outcome

    def _watch(self, where: ThreadRef) -> ReplyTracker | None:
        if self.observer is None:
            return None
        try:
            return self.observer.begin(where)
        except Exception:  # recovery is a safety net: it must never break a reply
            log.exception("reply observer failed")
            return None

    # --- the agent's side ----------------------------------------------------------------------

    @staticmethod
    async def _pump(
        chunks: AsyncIterator[AgentStream],
        inbox: Inbox,
        last: list[AgentStream],
        show_status: Callable[[str], None],
    ) -> AgentError | None:
        """Read the stream to its end; an agent failure is returned, not raised. A progress
        chunk's status (see :class:`AgentStream`) goes to the thread status. The stream
        is read in batches while its text waits for the writer anyway (its task's
        :data:`~core.agents.batching.READ_HOLD`)."""
        READ_HOLD.set(inbox.read_hold)
        try:
            async for chunk in chunks:
                inbox.add(chunk.content)
                if chunk.status is not None:
                    show_status(chunk.status)
                if chunk.done:
                    last.append(chunk)
        except AgentError as exc:
            return exc
        except TimeoutError:
            return AgentTimeoutError("the stream timed out")
        except Exception as exc:
            log.exception("agent stream failed")
            return AgentError(f"{type(exc).__name__}: {exc}")
        return None

    @staticmethod
    async def _until_end(
        pump: asyncio.Task[AgentError | None],
        cancelled: asyncio.Event | None,
        limit: float | None,
    ) -> End:
        """DONE when the stream ended, else STOPPED or TIMEOUT."""
        if cancelled is None:
            done, _ = await asyncio.wait({pump}, timeout=limit)
            return End.DONE if done else End.TIMEOUT
        stop = asyncio.create_task(cancelled.wait())
        try:
            await asyncio.wait({pump, stop}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if pump.done():
            return End.DONE
        return End.STOPPED if cancelled.is_set() else End.TIMEOUT

    @staticmethod
    async def _stop(pump: asyncio.Task[AgentError | None]) -> None:
        """Cancel the pump: the agent's generator gets CancelledError where it waits and
        runs its cleanup (``async with`` on the HTTP response) on the way out."""
        pump.cancel()
        done, _ = await asyncio.wait({pump}, timeout=_CLOSE_TIMEOUT)
        if not done:
            log.error("agent stream ignored cancellation for %.0fs; abandoning it", _CLOSE_TIMEOUT)

    @staticmethod
    def _verdict(
        stop: End, pump: asyncio.Task[AgentError | None]
    ) -> tuple[ReplyStatus, AgentError | None]:
        if stop is End.TIMEOUT:
            return "failed", AgentTimeoutError("the reply took longer than the turn timeout")
        if stop is End.STOPPED or stop is End.INTERRUPTED or pump.cancelled():
            return "cancelled", None
        error = pump.result()
        return ("failed", error) if error is not None else ("completed", None)

    # --- the surface's side --------------------------------------------------------------------

    def _notice(
        self,
        stop: End,
        status: ReplyStatus,
        error: AgentError | None,
        final: AgentStream | None,
        interrupted: str | None,
    ) -> str | None:
        """What to add to the last message: why the reply ended early, if it did (stopped,
        failed, or cut short by the model: its ``final`` chunk's finish reason)."""
        if status == "cancelled":
            if stop is End.INTERRUPTED and interrupted is not None:
                return interrupted
            return self.notices.stopped
        if error is not None:
            return self.notices.failure(error)
        return None if final is None else self.notices.ended_early(final.metadata)

    def _if_empty(self, final: AgentStream | None) -> str | None:
        """What to show when the reply has no text: nothing if files or data follow."""
        if final is not None and (
            final.structured_data is not None
            or final.artifact_files
            or final.metadata.get(UNREADABLE_ARTIFACTS_KEY)  # a notice about files follows
            or final.metadata.get(ARTIFACTS_ERROR_KEY)
        ):
            return None
        return self.notices.empty_reply

    async def _finish_text(
        self,
        writer: ReplyWriter,
        writing: asyncio.Task[None] | None,
        sender: Sender,
        notice: str | None,
        empty: str | None,
        watch: ReplyTracker | None,
        controls: FinalControls | None = None,
    ) -> None:
        """Stop the writer's loop, then make the final edits, bounded (``controls``: on the
        last message's final edit).

        A writer that is only waiting (its pace, the budget, a backoff) is cancelled: its
        edit would be superseded by the final one, and a non-urgent wait for the budget
        could hold the final edit back behind every other reply's. A surface call in flight
        is let complete, so its result (a posted message's id) is not lost.

        Cut short (``finish_timeout``: the platform or this process too slow, perhaps while
        the reply's first post was still in flight), the final texts not shown yet are
        told to ``watch``, the recovery registry, whose reapers then make those edits and
        posts: else the reply would stay half-written, or — its only post cancelled — the
        message would get no answer at all.
        """
        try:
            async with asyncio.timeout(self.policy.finish_timeout) as timeout:
                sender.deadline = Deadline(timeout)  # queueing for the budget is not counted
                if writing is not None:
                    if not sender.in_call:
                        writing.cancel()
                    (crash,) = await asyncio.gather(writing, return_exceptions=True)
                    if isinstance(crash, Exception):
                        log.error("reply writer crashed; finishing anyway", exc_info=crash)
                await writer.finish(notice, empty=empty, controls=controls)
        except TimeoutError:
            _leave_unfinished(writer, watch, notice, empty, controls)
            writer.undelivered.append(
                f"final text: gave up after {self.policy.finish_timeout:.0f}s"
            )
        except Exception as exc:  # a bug in a surface's render must not lose the outcome
            log.exception("finishing a reply failed")
            writer.undelivered.append(f"final text: {type(exc).__name__}: {exc}")
        finally:
            sender.deadline = None

    async def _extras(
        self,
        surface: ChatSurface,
        sender: Sender,
        where: ThreadRef,
        final: AgentStream,
        outcome: ReplyOutcome,
        ends_at: float | None,
    ) -> None:
        attachments = Attachments(
            surface,
            sender,
            where,
            max_bytes=self.artifact_max_bytes,
            http_client=self.http_client,
            notices=self.notices,
            ends_at=ends_at,
        )
        if final.structured_data is not None:
            outcome.structured_data = final.structured_data
            await attachments.structured(final.structured_data)
        unreadable = final.metadata.get(UNREADABLE_ARTIFACTS_KEY)
        unreadable = unreadable if isinstance(unreadable, list) else []
        unlisted = final.metadata.get(ARTIFACTS_ERROR_KEY)
        unlisted = str(unlisted) if unlisted else None
        if final.artifact_files or unreadable or unlisted:
            await attachments.artifacts(
                final.artifact_files, unreadable=unreadable, unlisted=unlisted
            )
        outcome.artifacts_uploaded = attachments.result.uploaded
        outcome.artifacts_failed = attachments.result.failed
        outcome.undelivered.extend(attachments.result.undelivered)

    async def notify(
        self, where: ThreadRef, markdown: str, *, surface: ChatSurface | None = None
    ) -> bool:
        """Post a notice (a turn that could not be answered) in ``where``, through the
        budget like any reply's post and retried like one; False (logged) if it could not
        be posted. However long the budget's queue, the notice waits for its turn.
        ``surface``: as in :meth:`deliver`."""
        on = self.surface if surface is None else surface
        sender = self._sender(on, where)
        text = on.render(markdown)
        try:
            key = post_key()
            await sender.post_urgently(lambda: on.post(where, text, key=key))
        except SurfaceError as exc:
            log.warning("could not post a notice in %s: %s", where, exc)
            return False
        return True

    async def read(
        self, where: ThreadRef, call: Callable[[], Awaitable[T]], *,
        surface: ChatSurface | None = None,
    ) -> T:  # fmt: skip
        """Read the platform for ``where`` (not part of a reply: a thread looked at), through
        the budgets the surface names for a ``read``, tried once and bounded like any call.
        Raises :class:`~core.errors.SurfaceError` when it fails."""
        sender = self._sender(self.surface if surface is None else surface, where)
        return await sender.call(call, kind="read", urgent=True, persistent=False)

    def _records(
        self, surface: ChatSurface, record: OfferFeedback | None
    ) -> FeedbackRecords | None:
        """The reply's feedback records, when ``surface`` can show controls."""
        if record is None or not isinstance(surface, ShowsFeedback):
            return None
        return FeedbackRecords(record, within=self.policy.call_timeout)

    def _controls(
        self, surface: ChatSurface, watch: ReplyTracker | None, records: FeedbackRecords
    ) -> FinalControls | None:
        """The feedback controls of ``surface``'s final edits (None: it has none), seen by
        ``watch`` like any edit."""
        if not isinstance(surface, ShowsFeedback):
            return None
        show: Callable[[MessageRef, str], Awaitable[None]] = surface.offer_feedback
        post: Callable[[ThreadRef, str, str], Awaitable[MessageRef]] | None = None
        post_feedback = getattr(surface, "post_feedback", None)
        if post_feedback is not None:
            post = functools.partial(_post_feedback, post_feedback)
        if watch is not None:
            show = functools.partial(_watched_feedback, show, watch)
            if post is not None:
                post = functools.partial(_watched_post, post, watch)
        return FinalControls(records, show, post)

    def _sender(self, surface: ChatSurface, where: ThreadRef) -> Sender:
        # Scopes asked before each call: a surface's budget may change mid-reply.
        return Sender(self.scheduler, lambda kind: surface.budget_scopes(where, kind), self.policy)

    async def _set_status(self, surface: ChatSurface, where: ThreadRef, status: str | None) -> None:
        """Best effort: a status that cannot be shown or cleared is not worth a retry."""
        try:
            async with asyncio.timeout(self.policy.call_timeout):
                await surface.set_status(where, status)
        except Exception as exc:
            log.warning("could not set the thinking status: %r", exc)


async def _aclose(chunks: AsyncIterator[AgentStream]) -> None:
    """Close the agent's iterator (and with it its HTTP stream), if it can be closed."""
    aclose = getattr(chunks, "aclose", None)
    if aclose is None:
        return
    try:
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await aclose()
    except Exception as exc:
        log.warning("closing the agent stream failed: %r", exc)


async def _cancelled(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` and wait until it has stopped (a status call in flight included)."""
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _leave_unfinished(
    writer: ReplyWriter,
    watch: ReplyTracker | None,
    notice: str | None,
    empty: str | None,
    controls: FinalControls | None,
) -> None:
    """Tell ``watch`` the final edits and posts a cut-short finish did not make."""
    if watch is None:
        return
    try:
        left = writer.unfinished(notice, empty=empty, controls=controls)
    except Exception:
        log.exception("could not work out the final texts left to make")
        return
    for owed in left:
        if owed.message is None:
            _quietly(functools.partial(watch.not_posted, owed.text))
        else:
            _quietly(functools.partial(watch.owed, owed.message, owed.text, controls=owed.controls))
    if left:
        log.warning("reply finish cut short: %d final texts left to the recovery reapers",
                    len(left))  # fmt: skip


async def _registered(watch: ReplyTracker) -> None:
    await _told(watch.registered())


async def _told(announcement: Awaitable[None]) -> None:
    """Await a call to the reply's observer: recovery is a safety net, its failure never
    breaks a reply."""
    try:
        await announcement
    except Exception:
        log.exception("reply observer failed")


async def _watched_feedback(
    show: Callable[[MessageRef, str], Awaitable[None]],
    watch: ReplyTracker,
    message: MessageRef,
    text: str,
) -> None:
    """A final edit with feedback controls, announced and reported like any final edit."""
    await _announced(watch, message, text, True, lambda: show(message, text))


async def _post_feedback(
    post: Callable[..., Awaitable[MessageRef]], where: ThreadRef, text: str, key: str
) -> MessageRef:
    """A surface's ``post_feedback(where, text, key=...)``, as :class:`FinalControls` calls it."""
    return await post(where, text, key=key)


async def _watched_post(
    post: Callable[[ThreadRef, str, str], Awaitable[MessageRef]],
    watch: ReplyTracker,
    where: ThreadRef,
    text: str,
    key: str,
) -> MessageRef:
    """A final post with feedback controls, announced and reported like any final post."""
    return await _announced_post(watch, text, False, lambda: post(where, text, key))


async def _announced_post(
    watch: ReplyTracker,
    text: str,
    streaming: bool,
    post: Callable[[], Awaitable[MessageRef]],
) -> MessageRef:
    """``post`` (a message showing ``text``), told to ``watch`` before and after."""
    await _told(watch.posting(text))
    try:
        message = await post()
    except (MessageTooLong, Undeliverable):
        raise  # cut smaller, or never deliverable: nothing to keep
    except Exception:
        if not streaming:
            _quietly(lambda: watch.not_posted(text))
        raise
    _quietly(lambda: watch.shown(message, text, streaming=streaming))
    return message


async def _announced(
    watch: ReplyTracker,
    message: MessageRef,
    text: str,
    final: bool,
    edit: Callable[[], Awaitable[None]],
) -> None:
    """``edit`` (``message`` made to show ``text``), told to ``watch`` before and after."""
    await _told(watch.sending(message, text, final=final))
    try:
        await edit()
    except MessageGone:
        _quietly(lambda: watch.gone(message))
        raise
    _quietly(lambda: watch.shown(message, text, streaming=not final))


def _quietly(call: Callable[[], None]) -> None:
    try:
        call()
    except Exception:
        log.exception("reply observer failed")


class _Watched:
    """The surface as the writer sees it: every post and edit is announced before it is
    sent, and every completed one reported."""

    def __init__(self, surface: ChatSurface, watch: ReplyTracker) -> None:
        self._surface = surface
        self._watch = watch
        self.limits = surface.limits

    def render(self, markdown: str) -> str:
        return self._surface.render(markdown)

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        return self._surface.budget_scopes(where, action)

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        return await _announced_post(
            self._watch, text, streaming,
            lambda: self._surface.post(where, text, streaming=streaming, key=key),
        )  # fmt: skip

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        await _announced(self._watch, message, text, final,
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
