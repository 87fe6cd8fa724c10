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

Crash recovery: with an ``observer``, every post and edit of the reply is told to it
(:mod:`core.relay.tracking`), so another replica can finish a reply whose process died. A
caller that registered the turn earlier (while it was queued) passes its ``tracker``.

While nothing new shows — the agent quiet (tools), the first post queued for the budget —
:class:`~core.relay.keepalive.KeepAlive` keeps the thread status alive ("Still working…",
"Queued…", refreshed), so a user never watches a thread that looks dead.

Feedback: given ``offer_feedback``, a reply that completed gets feedback controls on its
last message, carried by that message's final edit: no request of their own, nothing after
the answer. The callback records the reply first: one bounded call, begun as soon as each
message is posted, while the reply streams (:class:`~core.relay.records.FeedbackRecords`);
False or a failure, and the edit goes without controls. The edit with controls is the
surface's optional ``offer_feedback(message, text)``. A final text that is posted (the
reply's first post still queued when it ended) carries them through the surface's optional
``post_feedback(where, text, key=...)``, and is recorded once posted. Final edits left to
the recovery reapers carry them too (the reaper makes that edit with the surface's
``offer_feedback``), once the message's record has landed; final posts left to them carry
none; nor do notices, failed or stopped replies.

Placeholder or status: the relay sets the surface's thinking status at once and posts the
first message with the first text, not a placeholder: a placeholder costs one more edit of
the shared budget per reply, and a surface without a status shows the first text as soon as
it arrives anyway (the agent's time to first token is what the user waits for either way).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import httpx

from core.agents.batching import READ_HOLD
from core.errors import AgentError, AgentTimeoutError, SessionStoreError, SurfaceError
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
from core.relay.tracking import (
    ReplyObserver,
    ReplyTracker,
    TrackedSurface,
    await_registered,
    begin_tracking,
    leave_unfinished,
    report_finished,
    tracked_feedback_edit,
    tracked_feedback_post,
)
from core.relay.updates import End
from core.relay.writer import FinalControls, ReplyWriter
from core.surface import ChatSurface, MessageRef, ShowsFeedback, post_key
from core.turn import ThreadRef

# ReplyOutcome re-exported: deliver() returns it
__all__ = ["OfferFeedback", "Relay", "ReplyOutcome"]

OfferFeedback = Callable[[MessageRef], Awaitable[bool]]
"""Record the reply whose last message is this one; False: offer no controls."""

log = logging.getLogger(__name__)

T = TypeVar("T")

_Pumped = tuple[AgentError | None, AgentStream | None]
"""What the pump returns: the stream's failure, and its final chunk."""

# A page must hold real text besides the indicator and a reopened fence with its language.
_MIN_PAGE = 64
# An agent stream told to stop gets this long to run its cleanup (closing its HTTP
# response) before the relay moves on without it.
_CLOSE_TIMEOUT = 10.0


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
        withdrawn: Callable[[], Awaitable[bool]] | None = None,
    ) -> ReplyOutcome:
        """Stream ``chunks`` into the thread ``where``; see the module docstring.

        ``cancelled`` set (Stop button, interrupt) or this task cancelled: the agent stream
        is closed and the partial text kept with a "stopped" notice; on task cancellation
        :class:`asyncio.CancelledError` is re-raised once the reply is finalised.
        ``interrupted_notice``: the notice instead of "stopped" when a shutdown cancelled
        the task (:data:`core.ops.tasks.SHUTDOWN`). ``surface``: where this reply goes, when
        it is not the relay's own (a view of it for the turn's recipient, say).
        ``withdrawn``: asked once ``cancelled`` is set, whether the Stop was the question's
        withdrawal (its asker deleted it, :mod:`core.sessions.withdrawals`): the reply shown
        then ends with the "question deleted" notice, and nothing is posted when nothing
        was shown (no one is left to read a notice under a question that is gone).
        ``turn_timeout`` (default: the relay's) bounds the whole reply, artifacts included:
        the stream is then cut with a timeout notice, files not fetched in time are named in
        the artifacts' notice. Time spent queued for the platform's budget is not the
        reply's: it never times out (the thread status says it is queued).
        """
        loop = asyncio.get_running_loop()
        limit = self.turn_timeout if turn_timeout is None else turn_timeout
        ends_at = None if limit is None else loop.time() + limit
        surface = self.surface if surface is None else surface
        if tracker is None:
            tracker = begin_tracking(self.observer, where)
        inbox = Inbox()
        sender = self._sender(surface, where)
        records = self._records(surface, offer_feedback)
        writer_surface = surface if tracker is None else TrackedSurface(surface, tracker)
        writer = ReplyWriter(writer_surface, sender, where, inbox, self.policy, records)
        thread_status = _ThreadStatus(surface, where, tracker, self.policy.call_timeout)
        quiet, refresh = self.keep_alive
        alive = KeepAlive(
            inbox, lambda: bool(writer.messages), thread_status.show, self.notices,
            quiet=quiet, refresh=refresh,
        )  # fmt: skip

        def progress(text: str) -> None:  # an agent's progress chunk; the pump never waits
            alive.shown(text, progress=True)
            thread_status.show_soon(text)

        def queued(kind: str) -> None:  # the first post waits for the budget: say so
            if kind == "post":
                alive.mark_queued()

        sender.on_queued = queued
        pump = asyncio.create_task(self._pump(chunks, inbox, progress), name="relay-pump")
        writing: asyncio.Task[None] | None = None
        keeping: asyncio.Task[None] | None = None
        interruption: asyncio.CancelledError | None = None
        try:
            # The agent's side: until its stream ends, a Stop, the timeout or a cancel.
            try:
                started = loop.time()
                await thread_status.show(self.notices.thinking)
                alive.shown(self.notices.thinking)
                keeping = asyncio.create_task(alive.run(started), name="relay-keep-alive")
                writing = asyncio.create_task(writer.run(), name="relay-writer")
                stop = await self._until_end(pump, cancelled, limit)
            except asyncio.CancelledError as exc:
                interruption = exc  # re-raised once the reply is finalised
                stop = End.INTERRUPTED if by_shutdown(exc) else End.STOPPED
            if stop is not End.DONE:
                await self._stop(pump)
            await _aclose(chunks)
            status, error, final = self._verdict(stop, pump)
            inbox.end()
            # The surface's side: the final texts, the status cleared, then the files.
            notice = self._notice(stop, status, error, final, interrupted_notice)
            empty = self._empty_text(final)
            unseen_quiet = stop is End.STOPPED and await _was_withdrawn(cancelled, withdrawn)
            if unseen_quiet:
                notice, empty = self.notices.withdrawn, None
            controls = None
            if status == "completed" and records is not None:
                controls = self._final_controls(surface, tracker, records)
            await self._finish_writing(
                writer, writing, sender, notice, empty, tracker, controls, unseen_quiet=unseen_quiet
            )
            if tracker is not None:
                report_finished(tracker)
            await _cancelled(keeping)
            await thread_status.clear()
            outcome = ReplyOutcome(
                status=status,
                text=writer.book.text,
                messages=writer.messages,
                error=error,
                undelivered=writer.undelivered,
                feedback=writer.feedback,
            )
            if final is not None:
                await self._send_attachments(surface, sender, where, final, outcome, ends_at)
        finally:
            for task in (pump, writing, keeping):
                if task is not None and not task.done():
                    task.cancel()
            if records is not None:
                records.close()
        if interruption is not None:
            raise interruption
        return outcome

    # --- the agent's side ----------------------------------------------------------------------

    @staticmethod
    async def _pump(
        chunks: AsyncIterator[AgentStream],
        inbox: Inbox,
        on_progress: Callable[[str], None],
    ) -> _Pumped:
        """Read the stream to its end: its failure (returned, not raised) and its final
        chunk (the first one marked ``done``: structured data, files, finish reason). A
        progress chunk's status (see :class:`AgentStream`) goes to ``on_progress``. The
        stream is read in batches while its text waits for the writer anyway (its task's
        :data:`~core.agents.batching.READ_HOLD`)."""
        READ_HOLD.set(inbox.read_hold)
        final: AgentStream | None = None
        try:
            async for chunk in chunks:
                inbox.add(chunk.content)
                if chunk.status is not None:
                    on_progress(chunk.status)
                if chunk.done and final is None:
                    final = chunk
        except AgentError as exc:
            return exc, None
        except TimeoutError:
            return AgentTimeoutError("the stream timed out"), None
        except Exception as exc:
            log.exception("agent stream failed")
            return AgentError(f"{type(exc).__name__}: {exc}"), None
        return None, final

    @staticmethod
    async def _until_end(
        pump: asyncio.Task[_Pumped],
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
    async def _stop(pump: asyncio.Task[_Pumped]) -> None:
        """Cancel the pump: the agent's generator gets CancelledError where it waits and
        runs its cleanup (``async with`` on the HTTP response) on the way out."""
        pump.cancel()
        done, _ = await asyncio.wait({pump}, timeout=_CLOSE_TIMEOUT)
        if not done:
            log.error("agent stream ignored cancellation for %.0fs; abandoning it", _CLOSE_TIMEOUT)

    @staticmethod
    def _verdict(
        stop: End, pump: asyncio.Task[_Pumped]
    ) -> tuple[ReplyStatus, AgentError | None, AgentStream | None]:
        """How the reply ended, why it failed, and (only a completed one) the agent's
        final chunk."""
        if stop is End.TIMEOUT:
            timeout = AgentTimeoutError("the reply took longer than the turn timeout")
            return "failed", timeout, None
        if stop is End.STOPPED or stop is End.INTERRUPTED or pump.cancelled():
            return "cancelled", None, None
        error, final = pump.result()
        return ("failed", error, None) if error is not None else ("completed", None, final)

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

    def _empty_text(self, final: AgentStream | None) -> str | None:
        """What to show when the reply has no text: nothing if files or data follow."""
        if final is not None and (
            final.structured_data is not None
            or final.artifact_files
            or final.metadata.get(UNREADABLE_ARTIFACTS_KEY)  # a notice about files follows
            or final.metadata.get(ARTIFACTS_ERROR_KEY)
        ):
            return None
        return self.notices.empty_reply

    async def _finish_writing(
        self,
        writer: ReplyWriter,
        writing: asyncio.Task[None] | None,
        sender: Sender,
        notice: str | None,
        empty: str | None,
        tracker: ReplyTracker | None,
        controls: FinalControls | None = None,
        *,
        unseen_quiet: bool = False,
    ) -> None:
        """Stop the writer's loop, then make the final edits, bounded (``controls``: on the
        last message's final edit; ``unseen_quiet``: when nothing was shown, once a post
        still in flight has landed or not, nothing is posted at all).

        A writer that is only waiting (its pace, the budget, a backoff) is cancelled: its
        edit would be superseded by the final one, and a non-urgent wait for the budget
        could hold the final edit back behind every other reply's. A surface call in flight
        is let complete, so its result (a posted message's id) is not lost.

        Cut short (``finish_timeout``: the platform or this process too slow, perhaps while
        the reply's first post was still in flight), the final texts not shown yet are
        told to ``tracker``, the recovery registry, whose reapers then make those edits and
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
                if unseen_quiet and not writer.messages:
                    return  # nothing shown: nothing is posted, not even its text so far
                await writer.finish(notice, empty=empty, controls=controls)
        except TimeoutError:
            leave_unfinished(writer, tracker, notice, empty, controls)
            writer.undelivered.append(
                f"final text: gave up after {self.policy.finish_timeout:.0f}s"
            )
        except Exception as exc:  # a bug in a surface's render must not lose the outcome
            log.exception("finishing a reply failed")
            writer.undelivered.append(f"final text: {type(exc).__name__}: {exc}")
        finally:
            sender.deadline = None

    async def _send_attachments(
        self,
        surface: ChatSurface,
        sender: Sender,
        where: ThreadRef,
        final: AgentStream,
        outcome: ReplyOutcome,
        ends_at: float | None,
    ) -> None:
        """The ``final`` chunk's structured data and files, after the text; what they came
        to goes into ``outcome``."""
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
        surface = self.surface if surface is None else surface
        sender = self._sender(surface, where)
        text = surface.render(markdown)
        try:
            key = post_key()
            await sender.post_urgently(lambda: surface.post(where, text, key=key))
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

    def _final_controls(
        self, surface: ChatSurface, tracker: ReplyTracker | None, records: FeedbackRecords
    ) -> FinalControls | None:
        """The feedback controls of ``surface``'s final edits (None: it has none), told to
        ``tracker`` like any edit."""
        if not isinstance(surface, ShowsFeedback):
            return None
        show: Callable[[MessageRef, str], Awaitable[None]] = surface.offer_feedback
        post: Callable[[ThreadRef, str, str], Awaitable[MessageRef]] | None = None
        post_feedback = getattr(surface, "post_feedback", None)
        if post_feedback is not None:
            post = functools.partial(_post_feedback, post_feedback)
        if tracker is not None:
            show = functools.partial(tracked_feedback_edit, show, tracker)
            if post is not None:
                post = functools.partial(tracked_feedback_post, post, tracker)
        return FinalControls(records, show, post)

    def _sender(self, surface: ChatSurface, where: ThreadRef) -> Sender:
        # Scopes asked before each call: a surface's budget may change mid-reply.
        return Sender(self.scheduler, lambda kind: surface.budget_scopes(where, kind), self.policy)


class _ThreadStatus:
    """The thread status of one reply: "thinking" at its start, the agent's progress and
    the keep-alive's while it streams, cleared at its end. Best effort: a status that cannot
    be shown or cleared is not worth a retry."""

    def __init__(
        self,
        surface: ChatSurface,
        where: ThreadRef,
        tracker: ReplyTracker | None,
        call_timeout: float,
    ) -> None:
        self._surface = surface
        self._where = where
        self._tracker = tracker
        self._call_timeout = call_timeout
        self._calls: set[asyncio.Task[None]] = set()  # progress statuses in flight

    async def show(self, text: str | None) -> None:
        """Show ``text`` (None: clear it), bounded; a failure is logged."""
        # A status may post a message (Slack's "Thinking…" placeholder): never before
        # the turn's recovery record has landed, or a crash leaves it open for ever.
        if self._tracker is not None and text is not None:
            await await_registered(self._tracker)
        try:
            async with asyncio.timeout(self._call_timeout):
                await self._surface.set_status(self._where, text)
        except Exception as exc:
            log.warning("could not set the thinking status: %r", exc)

    def show_soon(self, text: str) -> None:
        """Show ``text`` in a task of its own: the agent's progress, which the pump that
        reads it never waits for."""
        task = asyncio.create_task(self.show(text))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def clear(self) -> None:
        """Clear the status for good: a late progress status must not outlive this."""
        for call in list(self._calls):
            call.cancel()
        await self.show(None)


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


async def _was_withdrawn(
    cancelled: asyncio.Event | None, withdrawn: Callable[[], Awaitable[bool]] | None
) -> bool:
    """Whether a Stop (``cancelled`` set) was the question's withdrawal; a store that cannot
    say makes it a plain Stop."""
    if cancelled is None or not cancelled.is_set() or withdrawn is None:
        return False
    try:
        return await withdrawn()
    except SessionStoreError as exc:
        log.warning("could not tell whether the question was deleted: %s", exc)
        return False


async def _cancelled(task: asyncio.Task[None] | None) -> None:
    """Cancel ``task`` and wait until it has stopped (a status call in flight included)."""
    if task is None:
        return
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _post_feedback(
    post: Callable[..., Awaitable[MessageRef]], where: ThreadRef, text: str, key: str
) -> MessageRef:
    """A surface's ``post_feedback(where, text, key=...)``, as :class:`FinalControls` calls it."""
    return await post(where, text, key=key)
