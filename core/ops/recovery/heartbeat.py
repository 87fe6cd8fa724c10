"""The owner's side: the process's heartbeat, and the record of each reply it has.

:class:`Heartbeat` proves, every ``ttl / 3``, that this process is alive: one write per
served bot, however many replies stream or wait (two missed beats, a Redis hiccup, do not
make a live process look dead).

:class:`RegisteredReply` follows one turn from the moment it is accepted — queued behind
another turn, or started — until its reply is final. Its record is written:

- when the turn is registered (a message queued on a replica that dies is then answered
  with a notice by another one);
- *ahead* of every edit, with the text about to be shown, so a finaliser never shows less
  than the screen did (bounded by ``ahead_timeout``: a slow Redis never holds a reply back);
- *ahead* of every post, with the text about to be posted (bounded the same way): a post
  that lands while its answer is lost (the process killed in between) leaves a message no
  record names; the reapers then look for it in the thread (``ReplyRecord.posting``). Posts
  are rare (one per page), so the per-chunk path writes nothing more;

The reply's *first visible message* (a status that posts one, as Slack's "Thinking…"
placeholder; else its first post) waits until the record has landed
(:meth:`RegisteredReply.registered`): the registration is written in the background when
the turn is accepted, and a message that went out before it landed — Redis slow, in a burst
— left a replica killed in between with a message no reaper knew of, open for ever. While
Redis only answers late the wait lasts (the write is tried again), up to the registry's
``patience``; a refused connection (Redis down) or that patience spent lets the reply go
on unregistered, as before: the reply matters more than its safety net. No write is added:
the wait is for the registration, the write ahead of the first post is the one every post
has; once the record has landed, nothing waits longer than ``ahead_timeout``.
- after a post, which is when a new message's id is known.

Writes are coalesced: at most one in flight per reply, the last state wins. When the reply
ends with every message final the record is dropped; when some final edit or post could
not be made (a platform outage longer than the reply's retries, a finish cut short by its
timeout: :meth:`RegisteredReply.owed`), or a post is still pending, the record is *handed
over* — registered then if no write had landed yet — and the reapers make those edits and
posts once the platform is back. Registry failures (Redis down or slow) never break a
reply: they are logged once per reply, the reply goes on, and the last state is written
again with backoff until a write lands (a turn whose registration timed out in a burst, and
whose replica then died, was otherwise unknown to every reaper: its user got nothing); the
drop or hand-over at the end is likewise tried again until Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from core.errors import SessionStoreError
from core.ops.recovery.record import Page, ReplyRecord
from core.ops.recovery.registry import RecoveryKeys, ReplyRegistry
from core.redis import StoreTimeout
from core.surface import MessageRef
from core.turn import ThreadRef

__all__ = ["Heartbeat", "RegisteredReply"]

log = logging.getLogger(__name__)


class Heartbeat:
    """One beat per served bot every ``ttl / 3``, from :meth:`start` until :meth:`aclose`."""

    def __init__(self, registry: ReplyRegistry) -> None:
        self.registry = registry
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="recovery-beat")

    async def _run(self) -> None:
        registry = self.registry
        warned = False
        while True:
            for keys in list(registry.scopes.values()):
                try:
                    if not await registry.beat(keys):
                        log.info("recovery: %s (re)joins %s", registry.owner, keys.owners)
                    warned = False
                except SessionStoreError as exc:
                    if not warned:  # Redis down is logged once, not every beat
                        warned = True
                        log.warning("recovery heartbeat failed: %s", exc)
            await asyncio.sleep(registry.ttl / 3)

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class RegisteredReply:
    """One turn's record (the relay's :class:`~core.relay.tracking.ReplyTracker`)."""

    def __init__(
        self, registry: ReplyRegistry, keys: RecoveryKeys, where: ThreadRef, *,
        since: str | None = None,
    ) -> None:  # fmt: skip
        self.registry = registry
        self.keys = keys
        self.reply_id = secrets.token_hex(8)
        self.record = ReplyRecord(registry.owner, where, last=since)
        self._written = False  # the first write landed: later writes only update it
        self._sent = False  # a write was sent (one that timed out may still have landed)
        self._retry: asyncio.Task[None] | None = None  # a failed write, tried again later
        self._failures = 0  # failed writes in a row (the retry's backoff)
        self._lost = False  # a reaper took the reply (this process was presumed dead)
        self._ended = False
        self._lock = asyncio.Lock()  # one write in flight; the next carries the last state
        self._queued = False  # a write waits behind the one in flight: no need for another
        self._warned = False
        # Set once waiting for the record is over: a write landed (or found the reply no
        # longer this owner's), Redis refused the connection, or the reply ended.
        self._settled = asyncio.Event()
        self._save_soon()

    # --- the relay's calls (cheap; they never raise) -----------------------------------

    async def registered(self) -> None:
        """Return once the record is in Redis, before the reply's first visible message
        (see the module): at once after that, and when Redis refused the connection; else
        after the registry's ``patience``, logged (the reply goes on unregistered)."""
        if self._settled.is_set():
            return
        try:
            async with asyncio.timeout(self.registry.patience):
                await self._settled.wait()
        except TimeoutError:
            self._settled.set()  # waited once: later messages do not wait again
            log.warning("reply %s: Redis did not take its record within %gs; its first "
                        "message goes out unregistered", self.reply_id,
                        self.registry.patience)  # fmt: skip

    async def posting(self, text: str) -> None:
        """A post of ``text`` is about to be sent: written before it is (see the module);
        the reply's first post waits for its record first."""
        self.record.posting = text
        await self.registered()
        await self._save(within=self.registry.ahead_timeout)

    async def sending(self, message: MessageRef, text: str, *, final: bool) -> None:
        """``message`` is about to show ``text``: written before the edit is sent."""
        self._page(message).text = text
        await self._save(within=self.registry.ahead_timeout)

    def shown(self, message: MessageRef, text: str, *, streaming: bool) -> None:
        """``message`` now shows ``text``; a final text takes it out of the record."""
        record = self.record
        before = (record.posted, len(record.unsent), len(record.pages), record.last)
        record.posted = True
        if all(page.message_id != message.message_id for page in record.pages):
            # A new message (an edit's message is a page until its final text): the post
            # that was pending landed, and it is the newest message of the reply.
            record.last = message.message_id
            record.posting = None
        if text in record.unsent:
            record.unsent.remove(text)
        changed = False
        if streaming:
            page = self._page(message)
            changed, page.text = page.text != text, text
        else:
            self._forget(message)
        # An edit's text was written ahead (sending): only what it did not know is written.
        after = (record.posted, len(record.unsent), len(record.pages), record.last)
        if changed or before != after:
            self._save_soon()

    def not_posted(self, text: str) -> None:
        """A final text could not be posted (this try): kept for the reapers, should the
        reply end without it; a later post of the same text takes it back."""
        if any(page.text == text for page in self.record.pages):
            return  # the writer's fallback for a failed final edit: the edit will show it
        unsent = self.record.unsent
        if not unsent or unsent[-1] != text:
            unsent.append(text)

    def owed(self, message: MessageRef, text: str, *, controls: bool = False) -> None:
        """The reply's finish was cut short before ``message`` showed its final ``text``:
        the page keeps that text, which the hand-over leaves to the reapers (``controls``:
        the record names the page whose final edit carries the feedback controls)."""
        self._page(message).text = text
        if controls:
            self.record.feedback = message.message_id

    def gone(self, message: MessageRef) -> None:
        """``message`` was deleted: nothing to finish there."""
        self._forget(message)
        self._save_soon()

    def finished(self) -> None:
        """The turn is over: drop the record, or hand it over if some final edit failed."""
        if self._ended:
            return
        self._ended = True
        self._settled.set()
        self.registry.spawn(self._end, f"recovery-end-{self.reply_id}")

    # --- internals -----------------------------------------------------------------------

    def _page(self, message: MessageRef) -> Page:
        for page in self.record.pages:
            if page.message_id == message.message_id:
                return page
        place = None if message.where == self.record.where else message.where
        page = Page(message.message_id, "", message.stream, place)
        self.record.pages.append(page)
        return page

    def _forget(self, message: MessageRef) -> None:
        pages = self.record.pages
        pages[:] = [p for p in pages if p.message_id != message.message_id]

    def _save_soon(self) -> None:
        if not self._ended and not self._queued:
            self._queued = True
            self.registry.spawn(self._save, f"recovery-write-{self.reply_id}")

    async def _save(self, within: float | None = None) -> None:
        if self._lost or self._ended:
            return
        try:
            async with asyncio.timeout(within or self.registry.op_timeout):
                async with self._lock:
                    self._queued = False  # what changes from now on needs a write of its own
                    if self._lost or self._ended:
                        return
                    first = not self._written
                    self._sent = True
                    done = await self.registry.write(self.keys, self.reply_id, self.record,
                                                     first=first)  # fmt: skip
                    self._written = True
                    self._failures = 0
                    self._settled.set()
                    if not done:
                        self._lost = True
                        log.warning("reply %s was taken by a reaper while in flight",
                                    self.reply_id)  # fmt: skip
        except (SessionStoreError, TimeoutError) as exc:
            self._queued = False
            self._failures += 1
            if isinstance(exc, SessionStoreError) and not isinstance(exc, StoreTimeout):
                self._settled.set()  # Redis refused: down, not slow (nothing to wait for)
            if not self._warned:
                self._warned = True
                log.warning("could not register reply %s (tried again until it lands): %r",
                            self.reply_id, exc)  # fmt: skip
            self._save_later()

    def _save_later(self) -> None:
        """Write the last state again after a backoff (at most one retry pending): what
        failed to land is never left to a later edit that may not come."""
        if self._ended or self._lost or (self._retry is not None and not self._retry.done()):
            return
        delay = self.registry.retry_delay(self._failures)

        async def later() -> None:
            await asyncio.sleep(delay)
            self._save_soon()

        self._retry = self.registry.spawn(later, f"recovery-retry-{self.reply_id}")

    async def _end(self) -> None:
        # Tried again until Redis answers, however long it takes (one try in flight per
        # reply, backoff up to ``ttl / 3``; the process's shutdown stops it): a record left
        # behind is "finished" by a reaper once this process is gone, which adds a bogus
        # notice under a complete reply. It used to give up after 2 ttl (30 s), and a
        # burst's slow Redis left complete replies in the registry.
        registry = self.registry
        if self._retry is not None:
            self._retry.cancel()
        async with self._lock:  # after the write in flight, if any
            pass
        record = self.record
        # A post still pending (its answer lost to a cut-short finish) may have landed: a
        # reaper looks for it, so it is never left streaming.
        owed = bool(record.pages or record.unsent or record.posting is not None)
        if not self._sent and not owed:
            return  # nothing was sent to Redis: nothing to remove
        failures = 0
        while not self._lost:
            try:
                if owed:
                    record.handed_over = True
                    if await registry.hand_over(self.keys, self.reply_id, record):
                        log.warning("reply %s: %d final edits and %d posts left to the "
                                    "recovery reapers", self.reply_id, len(record.pages),
                                    len(record.unsent))  # fmt: skip
                    else:
                        log.warning("reply %s: a reaper took it before its final edits were "
                                    "handed over", self.reply_id)  # fmt: skip
                else:
                    await registry.drop(self.keys, self.reply_id)
                if failures:
                    log.info("reply record %s ended after %d failed tries", self.reply_id,
                             failures)  # fmt: skip
                return
            except SessionStoreError as exc:
                failures += 1
                if failures == 1:
                    log.warning("could not end reply record %s (tried again until Redis "
                                "answers): %s", self.reply_id, exc)  # fmt: skip
            await asyncio.sleep(registry.retry_delay(failures))
