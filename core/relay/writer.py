"""Shows one reply as it grows: posts, paces and edits its messages, one page per message.

The writer loop, top to bottom:

1. wait until text arrives (the :class:`Inbox` wakes it);
2. wait until the open message may be edited again: the previous edit has completed *and*
   the surface's ``min_edit_interval`` has passed since — the per-message pace;
3. wait for the shared budget (:class:`Sender`): the first text of a message goes first
   (urgent), later edits by staleness;
4. only then take *everything* that arrived meanwhile (coalescing), cut full pages off
   (each gets its final edit, and the rest continues in a new message), and edit the open
   message, unless the text it would show is what it shows already.

:meth:`ReplyWriter.finish` then makes the final edits: the whole text, without the streaming
indicator, plus a notice when the reply failed or was stopped. Given :class:`FinalControls`
(a completed reply), the last message's final edit carries the feedback controls: the
message is recorded for its votes first — begun as soon as it was posted, while the reply
streamed (:class:`~core.relay.records.FeedbackRecords`), so the final edit rarely waits
for it, and what it does wait is not counted against the reply's finishing deadline (a
bounded call, like a surface call in flight) — and the edit that makes the text final shows
the controls too, so they cost no request of their own and nothing waits for them after
the answer. A final text that has to be *posted* (its first post was still queued when the
reply ended, or its edit failed) is posted with them, and recorded once the post has landed
(its id is only known then): a vote in between, or after a failed recording, is answered
"can no longer be rated".
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

from core.errors import EditsClosed, MessageGone, MessageTooLong, RateLimited, SurfaceError
from core.ops import metrics
from core.relay.inbox import Inbox
from core.relay.notices import with_notice
from core.relay.pages import PageBook
from core.relay.paginate import Cut
from core.relay.records import FeedbackRecords
from core.relay.sender import RetryPolicy, Sender
from core.relay.updates import Update
from core.surface import ChatSurface, MessageRef, SurfaceAction, post_key
from core.turn import ThreadRef

__all__ = ["FinalControls", "Owed", "ReplyWriter"]

log = logging.getLogger(__name__)

# On MessageTooLong (the platform counts differently than ``render`` suggested) pages are
# cut this much smaller, at most this many times per reply.
_SHRINK = 0.85
_MAX_SHRINKS = 6
# A reply is behind when its oldest text not on screen has waited this many edit intervals:
# one interval is its own message's pace, the rest is the shared budget's queue.
_BEHIND_AFTER_INTERVALS = 2


@dataclass(slots=True)
class _Slot:
    """The message showing the open page (``None`` until its first text is posted)."""

    message: MessageRef | None = None
    shown: str | None = None  # the text it shows, to skip edits that change nothing
    shown_end: int = 0  # how much of the open page's Markdown that text shows
    next_ok: float = -math.inf  # loop time before which it must not be edited again
    failures: int = 0
    # The key of this slot's post (ChatSurface.post): kept until the post lands, so a post
    # made again for the slot (a retry cut short by the reply's end, then the final text)
    # is known to the platform as the same one, and a try that landed unseen is reused.
    key: str = field(default_factory=post_key)


@dataclass(frozen=True, slots=True)
class Owed:
    """A final text a cut-short finish did not show: ``message``'s final edit, or (None)
    a post; ``controls``: that edit carries the feedback controls."""

    message: MessageRef | None
    text: str
    controls: bool = False


class _Kind(enum.Enum):
    """What one step of a reply's finish shows (:meth:`ReplyWriter._final_steps`)."""

    # PAGE: a full page's final text; the reply goes on in a new message.
    PAGE = "page"
    # LAST: the open page's final text, with the notice after it when it fits ("" when
    #   there is nothing to show: no text, or the notice alone follows).
    LAST = "last"
    # NOTICE: the notice in a message of its own (the last page had no room left for it).
    NOTICE = "notice"
    # SETTLE: the owed final edit of a page turned early (only its indicator goes).
    SETTLE = "settle"


@dataclass(frozen=True, slots=True)
class _Step:
    """One final text a finish has still to show: ``message``'s edit, or (None) a post;
    ``controls``: the reply's last text, which carries the feedback controls."""

    kind: _Kind
    text: str
    message: MessageRef | None
    controls: bool = False
    cut: Cut | None = None  # PAGE: where the book closes once the page is shown
    notice: str | None = None  # LAST: the notice that follows in a message of its own


@dataclass(frozen=True, slots=True)
class FinalControls:
    """The feedback controls a completed reply's last message is finalised with.

    ``records`` remember the reply before the controls show (not recorded: offer none);
    ``show(message, text)`` is the surface's final edit of ``message`` with the controls;
    ``post(where, text, key)`` its final post with them (None: posts go without).
    """

    records: FeedbackRecords
    show: Callable[[MessageRef, str], Awaitable[None]]
    post: Callable[[ThreadRef, str, str], Awaitable[MessageRef]] | None


class ReplyWriter:
    """The messages of one reply; see the module docstring for the loop."""

    def __init__(
        self,
        surface: ChatSurface,
        sender: Sender,
        where: ThreadRef,
        inbox: Inbox,
        policy: RetryPolicy,
        records: FeedbackRecords | None = None,
    ) -> None:
        """``records``: each message posted while the reply streams is recorded for its
        votes at once, in case it ends the reply (see the module docstring)."""
        self._surface = surface
        self._records = records
        self._limits = surface.limits
        self._sender = sender
        self._where = where
        self._inbox = inbox
        self._policy = policy
        # The indicator is appended to the open page while it streams: reserve its room on
        # every page, so a page never has to be re-cut when it is finalised.
        budget = self._limits.max_message_chars - len(self._limits.streaming_indicator)
        self.book = PageBook(budget, self._measure)
        self.messages: list[MessageRef] = []
        self.undelivered: list[str] = []
        # The message whose final edit or post carried the feedback controls, recorded.
        self.feedback: MessageRef | None = None
        self._slot = _Slot()
        self._shrinks = 0
        self._shown_upto = 0  # offset in the reply of the first character not on screen
        # The message a closed one went on in (EditsClosed), until an edit of it succeeds:
        # refused too before that, no message may be edited here (not a window closing again).
        self._unedited_successor: MessageRef | None = None
        # Pages turned at what their message already showed: only their final edit (no
        # indicator, no Stop control) is owed, and it waits for the reply's end.
        self._owed_finals: list[tuple[MessageRef, str]] = []
        # How far finish() got (besides the pages closed in the book and the owed finals
        # left): the last page's final text, then the notice still owed a message of its own.
        self._last_page_done = False
        self._own_notice: str | None = None
        # When the reply started, for the time-to-first-visible-text metric.
        self._started = asyncio.get_running_loop().time()
        self._first_shown = False

    def _measure(self, markdown: str) -> int:
        return len(self._surface.render(markdown))

    # --- while the agent streams -------------------------------------------------------------

    async def run(self) -> None:
        """Keep the open message up to date until the inbox ends."""
        inbox = self._inbox
        while True:
            await inbox.changed.wait()
            inbox.changed.clear()
            if inbox.ended:
                return
            await self._pace()
            if inbox.ended:
                return  # finish() edits next; it pays the same pace
            if inbox.pending:
                await self._refresh()

    async def _pace(self) -> None:
        """Wait until the open message may be edited again (its ``next_ok``)."""
        delay = self._slot.next_ok - asyncio.get_running_loop().time()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _refresh(self) -> None:
        """One update while streaming: the budget first, then everything that arrived
        meanwhile (pages turned or closed as they fill), then the open page's edit."""
        try:
            first = self._slot.message is None
            kind: SurfaceAction = "post" if first else "edit"
            since = self._since()
            # How long the text will wait anyway: the stream may be read in batches that
            # long (Inbox.read_hold).
            self._inbox.expect(self._sender.expected_wait(kind, urgent=first, since=since))
            # The first text waits as long as the queue is: a reply never gives up on it.
            await self._sender.acquire(kind, urgent=first, since=since, patient=first)
            self._take()
            self._turn_page_at_shown()
            if await self._close_full_pages():
                # The rest continues in a new message, whose post waits for a budget of its
                # own (a second request in this thread): show what arrives during that wait
                # too, or it would wait for the next edit, a whole interval later.
                await self._sender.acquire("post", urgent=False, since=self._since())
                self._take()
                await self._close_full_pages()
            await self._show_open_page()
        except SurfaceError as exc:
            self._failed(exc)
        finally:
            self._sender.forfeit()

    def _failed(self, exc: SurfaceError) -> None:
        """An intermediate update failed: the text stays buffered for the next one."""
        slot = self._slot
        now = asyncio.get_running_loop().time()
        interval = self._limits.min_edit_interval
        if isinstance(exc, RateLimited):
            slot.next_ok = now + max(interval, exc.retry_after)
        elif isinstance(exc, MessageTooLong) and self._shrink():
            slot.next_ok = now + interval
        else:
            slot.failures += 1
            slot.next_ok = now + max(interval, self._policy.backoff_after(slot.failures))
            log.warning("reply update failed (%s); retrying in the next edit", exc)

    def _shrink(self) -> bool:
        """Cut smaller pages from now on; ``False`` once that has been tried enough."""
        self._shrinks += 1
        if self._shrinks > _MAX_SHRINKS:
            return False
        self.book.budget = int(self.book.budget * _SHRINK)
        return True

    async def _show_open_page(self) -> None:
        """Edit the open page's message to show its text (post it when there is no
        message), unless it shows that already; a message deleted meanwhile, or closed to
        edits (once: see ``_unedited_successor``), goes on in a new one."""
        if not self.book.open_content.strip():
            return
        markdown = self.book.open_markdown(close_fence=True)
        text = self._surface.render(markdown) + self._limits.streaming_indicator
        shown_end = len(self.book.open_content)
        slot = self._slot
        if slot.message is not None and text == slot.shown:
            self._shown_upto = self.book.closed_chars + shown_end
            return  # nothing new to show: skip the edit
        closed = False
        if slot.message is not None:
            try:
                await self._edit(slot.message, text, Update.STREAMING)
                self._unedited_successor = None
            except EditsClosed:
                if slot.message == self._unedited_successor:
                    raise  # its successor too: no edits here; the final text is posted
                self._forget(slot.message)
                closed = True
            except MessageGone:
                self._forget(slot.message)
        if self._slot.message is None:
            await self._post(text, Update.STREAMING)
            if closed:
                self._unedited_successor = self._slot.message
        self._slot.shown_end = shown_end
        self._shown_upto = self.book.closed_chars + shown_end  # all taken is on screen now

    def _turn_page_at_shown(self) -> None:
        """Turn a full page where its message's text already ends, when that is a clean
        boundary and worth it (:meth:`PageBook.cut_at_shown`): the message then shows its
        final content already, so the new text goes out with one post, and the old page's
        final edit (which only drops the indicator) is owed until the reply ends and waits
        behind new text. Otherwise a page turn costs two requests at once; for a reply held
        back by the budget the second one waits a whole turn, and equal replies reaching a
        page boundary together would all wait for it at the same moment."""
        slot = self._slot
        if slot.message is None:
            return
        cut = self.book.cut_at_shown(slot.shown_end, behind=self._behind())
        if cut is None:
            return
        final = self._surface.render(self.book.closed_markdown(cut))
        self._owed_finals.append((slot.message, final))
        self.book.close(cut)
        self._slot = _Slot()

    def _behind(self) -> bool:
        """Whether the oldest text not on screen has waited longer than the message's own
        pace explains: then a shared budget is what holds this reply back."""
        waited = asyncio.get_running_loop().time() - self._since()
        return waited > _BEHIND_AFTER_INTERVALS * self._limits.min_edit_interval

    async def _close_full_pages(self) -> bool:
        """Give every full page its final text while the reply streams (at its end, the
        finish's steps do); the rest continues in a new message. Returns whether any page
        was closed."""
        closed = False
        while (cut := self.book.next_cut()) is not None:
            text = self._surface.render(self.book.closed_markdown(cut))
            await self._put_final(text, Update.PAGE_FULL)
            self._page_closed(cut)
            closed = True
        return closed

    def _page_closed(self, cut: Cut) -> None:
        """The open page, ending at ``cut``, shows its final text: the rest continues in a
        new message."""
        self.book.close(cut)
        self._shown_upto = max(self._shown_upto, self.book.closed_chars)
        self._slot = _Slot()

    # --- the end -------------------------------------------------------------------------------

    async def finish(
        self, notice: str | None, *, empty: str | None, controls: FinalControls | None = None
    ) -> None:
        """Final edits: every page complete, no indicator, ``notice`` (Markdown) appended.

        ``empty`` is shown instead when nothing else would be (no text, no notice).
        ``controls``: the last message's final edit carries them (see the module
        docstring); :attr:`feedback` then names it.
        Bounded: whatever cannot be delivered after the retries is listed in
        :attr:`undelivered`.

        Step by step, as :meth:`_final_steps` lists them: each is marked done once shown, so
        that what a cut-short finish leaves is exactly the rest (:meth:`unfinished`).
        """
        self._take()
        self._turn_page_at_shown()  # the last page's post then carries all the new text
        texts = True
        while (step := next(self._final_steps(notice, empty, texts=texts), None)) is not None:
            try:
                await self._final_step(step, controls)
            except MessageTooLong as exc:
                if self._shrink():
                    self._turn_page_at_shown()  # the steps left are cut anew, smaller
                else:
                    self.undelivered.append(f"the rest of the reply: {exc}")
                    texts = False  # the owed final edits are still made

    def unfinished(
        self, notice: str | None, *, empty: str | None, controls: FinalControls | None = None
    ) -> list[Owed]:
        """The final texts :meth:`finish` has not shown yet, in order, when it is cut short
        (the reply's ``finish_timeout``, perhaps in the middle of a post): a message still
        to be edited to show its text, or (no message) a text still to be posted. The relay
        leaves them to the recovery reapers, so a reply whose finish outlasted its time
        still ends with its whole text. ``controls``: the reply's last text, when it is an
        edit of a message already recorded for votes, is owed with them (a reaper's post
        carries none). Nothing is sent here."""
        self._take()
        records = None if controls is None or self.undelivered else controls.records

        def offered(step: _Step) -> bool:  # an edit, of a message recorded for votes
            return (
                step.controls
                and step.message is not None
                and records is not None
                and records.landed(step.message)
            )

        steps = self._final_steps(notice, empty)
        return [Owed(step.message, step.text, offered(step)) for step in steps if step.text]

    def _final_steps(
        self, notice: str | None, empty: str | None, *, texts: bool = True
    ) -> Iterator[_Step]:
        """What the finish has still to show, in order, from where it got: the one account
        of it, for :meth:`finish` (which takes the first step, again until none is left)
        and :meth:`unfinished` (all of them). Reads the writer, changes nothing; lazy, so
        the finish renders only the step it takes. ``texts=False``: the owed final edits
        alone (the finish gave up on the rest).

        The first text goes in the open message (an edit; a post when there is none), each
        later one in a new message: the full pages, the last page with the notice (or
        ``empty`` when nothing else would show), the notice alone when the page has no room
        left for it; the reply's last text carries the controls. Last, as they carry no new
        text, the owed final edits of pages turned early.
        """
        message = self._slot.message
        own = self._own_notice
        if texts and not self._last_page_done:
            book = self.book.copy()
            pages = False
            while (cut := book.next_cut()) is not None:
                page = self._surface.render(book.closed_markdown(cut))
                yield _Step(_Kind.PAGE, page, message, cut=cut)
                book.close(cut)
                message, pages = None, True
            text, own = self._last_page(book, notice)
            if not text and not pages and not self.messages and empty:
                text = self._surface.render(empty)
            yield _Step(_Kind.LAST, text, message, controls=not own, notice=own or None)
            message = None
        if texts and own:
            yield _Step(_Kind.NOTICE, own, message, controls=True)
        # They compete by staleness like a streaming edit (only the indicator goes): every
        # reply's final text, and other replies' new text, goes before them.
        for owed, text in self._owed_finals:
            yield _Step(_Kind.SETTLE, text, owed)

    async def _final_step(self, step: _Step, controls: FinalControls | None) -> None:
        """Show ``step``, the first of :meth:`_final_steps`, then mark it done."""
        if step.kind is _Kind.SETTLE:
            assert step.message is not None  # an owed final edit names its message
            await self._settle_owed(step.message, step.text)
            self._owed_finals.pop(0)
            return
        if step.text:
            await self._put_final(step.text, Update.FINAL, controls if step.controls else None)
        if step.kind is _Kind.PAGE:
            assert step.cut is not None  # a page's step says where it ends
            self._page_closed(step.cut)
        elif step.kind is _Kind.LAST:
            self._last_page_done = True
            self._own_notice = step.notice
            if step.notice is not None:
                self._slot = _Slot()  # the notice goes in a message of its own
        else:
            self._own_notice = None

    def _last_page(self, book: PageBook, notice: str | None) -> tuple[str, str | None]:
        """The open page's final text (rendered) with ``notice`` after it, and the notice
        alone when the page has no room left for it: it then gets a message of its own."""
        body = ""
        if book.open_content.strip():
            body = self._surface.render(book.open_markdown(close_fence=notice is not None))
        if not notice:
            return body, None
        note = self._surface.render(notice)
        return with_notice(body, note, limit=self._limits.max_message_chars)

    # --- one message ---------------------------------------------------------------------------

    async def _settle_owed(self, message: MessageRef, text: str) -> None:
        """The owed final edit of a page turned early. It only drops the indicator (and a
        Stop control), so it is not urgent, and when it fails the page keeps its text:
        posting it again would repeat it after the pages that follow it."""
        self._slot = _Slot(message=message)
        try:
            await self._edit(message, text, Update.SETTLE)
        except MessageGone:
            pass  # deleted meanwhile: nothing left to tidy
        except SurfaceError as exc:
            self.undelivered.append(f"a page's final edit (it keeps its indicator): {exc}")
            log.warning("could not finalise an earlier page of a reply: %s", exc)

    async def _put_final(
        self, text: str, update: Update, controls: FinalControls | None = None
    ) -> None:
        """Make the open slot's message show ``text`` for good (``update``: PAGE_FULL or
        FINAL): a final edit, or a post when there is no message (or it was deleted, or —
        FINAL — it cannot be edited). ``controls``: the final edit carries them, once the
        reply is recorded (a post never does)."""
        slot = self._slot
        if slot.message is not None:
            message = slot.message
            show = await self._controls(message, controls)
            await self._pace()
            try:
                await self._edit(message, text, update, show=show)
                if show is not None:
                    self.feedback = message
                return
            except MessageGone:
                self._forget(slot.message)
            except MessageTooLong:
                raise
            except SurfaceError as exc:
                if not update.persistent:
                    raise
                # Never lose the final text: post it anew; the old message keeps a partial.
                log.warning("final edit failed (%s); posting the text as a new message", exc)
        try:
            await self._post(text, update, controls)
        except MessageTooLong:
            raise
        except SurfaceError as exc:
            if not update.persistent:
                raise
            self.undelivered.append(f"{len(text)} characters of the reply: {exc}")
            log.error("could not deliver part of a reply: %s", exc)

    async def _controls(
        self, message: MessageRef, controls: FinalControls | None
    ) -> Callable[[MessageRef, str], Awaitable[None]] | None:
        """The edit with controls for ``message``'s final text, once the reply is recorded;
        None (a plain final edit) when there are none to offer or recording failed."""
        if controls is None or self.undelivered:
            return None  # part of the reply is missing: it is not offered for a vote
        return controls.show if await self._recorded(message, controls) else None

    async def _recorded(self, message: MessageRef, controls: FinalControls) -> bool:
        """Whether ``message`` is recorded for its votes (bounded, never raises); the wait
        is not the finish's (see the module docstring)."""
        return await self._sender.aside(controls.records.recorded(message))

    async def _edit(
        self,
        message: MessageRef,
        text: str,
        update: Update,
        *,
        show: Callable[[MessageRef, str], Awaitable[None]] | None = None,
    ) -> None:
        """Edit ``message`` to show ``text``; ``show``: a final edit with the feedback
        controls instead of the surface's plain one."""
        since = self._since()
        final = update.final
        await self._sender.call(
            (lambda: show(message, text))
            if show is not None
            else (lambda: self._surface.edit(message, text, final=final)),
            kind="edit",
            urgent=update.urgent,
            since=since,
            persistent=update.persistent,
        )
        self._shown(text)
        self._count("edit", since)

    async def _post(self, text: str, update: Update, controls: FinalControls | None = None) -> None:
        """Post ``text`` in a new message; ``controls``: a final post carries them (then
        recorded, see the module docstring)."""
        where = self._where
        since = self._since()
        streaming = not update.final
        key = self._slot.key  # the same for every try: a retry never posts twice
        post = None
        if controls is not None and update.final and not self.undelivered:
            post = controls.post
        message = await self._sender.call(
            (lambda: post(where, text, key))
            if post is not None
            else (lambda: self._surface.post(where, text, streaming=streaming, key=key)),
            kind="post",
            # A reply's first text and its final text jump the queue; a continuation page
            # while streaming competes by staleness like any edit (else a page break
            # everywhere at once would starve edits).
            urgent=update.urgent or not self.messages,
            since=since,
            persistent=True,  # a post carries text no later update shows
        )
        self._slot.message = message
        self._slot.key = post_key()  # landed: a later post (a failed final edit's) is new
        self.messages.append(message)
        self._shown(text)
        self._count("post", since)
        if streaming and self._records is not None:
            self._records.start(message)  # its final edit may carry the controls
        if post is not None and controls is not None and await self._recorded(message, controls):
            self.feedback = message

    def _count(self, action: str, since: float) -> None:
        """Metrics of one completed update: what it was, how stale the text it newly shows
        was, and (once per reply) how long the first agent text took to appear."""
        platform = self._where.platform
        now = asyncio.get_running_loop().time()
        metrics.edit_sent(platform, action)
        metrics.text_shown(platform, now - since)
        if not self._first_shown and self.book.text.strip():
            self._first_shown = True
            metrics.first_visible(platform, now - self._started)

    def _take(self) -> None:
        """Move the arrived text into the pages."""
        self.book.extend(self._inbox.take())

    def _since(self) -> float:
        """Loop time the oldest text not on screen arrived: the scheduler serves the most
        stale update first, final edits included. When an update shows only part of what
        was taken (a full page closed), the rest is ranked by its own, younger, age."""
        arrived = self._inbox.arrived(self._shown_upto)
        return asyncio.get_running_loop().time() if arrived is None else arrived

    def _shown(self, text: str) -> None:
        """The open message now shows ``text``: its pace starts again."""
        slot = self._slot
        slot.shown = text
        slot.failures = 0
        slot.next_ok = asyncio.get_running_loop().time() + self._limits.min_edit_interval

    def _forget(self, message: MessageRef) -> None:
        """The message was deleted: continue in a new one that shows the whole page."""
        if message in self.messages:
            self.messages.remove(message)
        self._slot = _Slot()
