"""The reapers' side: every replica finishes the replies their owners could not.

A due reply (:mod:`core.ops.recovery.registry`) is one of two kinds:

- an *orphan*: its owner died. Each of its open messages gets its last text without the
  streaming indicator (a native stream is stopped first), the last one followed by
  :data:`~core.texts.ORPHAN_NOTICE`; a reply that never showed anything gets
  :data:`~core.texts.UNANSWERED_NOTICE`; the thread's thinking status is cleared;
- *handed over*: its owner finished it but a platform outage outlasted the final edits'
  retries. The recorded final texts are made (and final texts never posted are posted),
  nothing added; the page the record names for them (``ReplyRecord.feedback``) gets its
  final edit with the feedback controls, where the surface offers them
  (:class:`~core.surface.ShowsFeedback`).

Either kind may have a post pending (``ReplyRecord.posting``: its owner died, or the post
failed, before its answer named the message). Where the surface can look (``find_open_post``,
beyond the protocol), the bot's first message in the thread after the reply's last known
one that still shows the indicator or the Stop control is taken as that post and finished
like the reply's other open messages (with the text the record wrote ahead, or else the
platform's: never less than the screen showed; a handed-over reply's pending post gets its
first unsent final text, which it was sent for). Nothing found: the post never landed.
An orphan that never showed text is looked up the same way: what it finds is a status
message of the reply's own (Slack's "Thinking…" placeholder), which becomes the notice.

An orphan may have been complete after all: its owner finished the reply while Redis was
silent (the record's drop, tried again until Redis answers, never landed) and then died.
Before an orphan whose last page the record names is finished, that message is read back
where the surface can (``shows_final``, beyond the protocol: :class:`ReadsMessages`); one
showing a finished reply (neither the indicator nor the Stop control: the writer's final
edit) means the reply ended: its record is dropped with no notice, and only earlier pages
still open (final edits owed by pages turned early) get their text, read first too. A
Slack native stream shows neither marker: the surface reads the mark its writer's final
edit leaves instead (:mod:`adapters.slack.final_mark`). A read that cannot tell (a message
not found) finishes the orphan as before. Only orphans pay the read, through the same
sender and budgets as the edits.

A surface may also owe final edits after its reply's record is gone (:class:`LeavesEdits`:
a Slack stream whose final stop waits for its rate limit): each is a handed-over record of
its one page (:mod:`core.ops.recovery.owed`), held by its process until the surface makes
the edit, and made like any other once that process died or shut down first.

A third kind is a *stray copy* (``ReplyRecord.stray``): a surface retried a post without
knowing whether an earlier try had landed, and left the record so that the copy, if it is
there, is finalised even should the replica die first (:class:`SweepsStrays`). Not found,
it is looked for again with the same backoff (the try may never have landed, or the
platform's history may lag), and given up once a lookup finds nothing at the
:data:`STRAY_TRIES`-th scan or later; a failed lookup (a 429) is retried like a failed edit.
Its lookup and edit are the surface's own (:meth:`SweepsStrays.finalise_stray`), outside
the edit budgets: a 429 of the lookup is no reason to pause the edits' budget.

Edits and posts go through the same :class:`~core.relay.sender.Sender` and budgets as every
reply of the process, so finishing many orphans after a restart never spends budget the
edit scheduler cannot see. A failure puts the reply back for a later scan, with backoff;
the record is kept until the messages are final (or deleted, or the thread refuses the
bot), and given up only after ``max_tries`` scans.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from core.errors import (
    MessageGone,
    PlatformUnavailable,
    SessionStoreError,
    SurfaceError,
    Undeliverable,
)
from core.ops.recovery.record import Page, ReplyRecord
from core.ops.recovery.registry import Claimed, RecoveryKeys, ReplyRegistry
from core.relay.notices import with_notice
from core.relay.sender import EditBudget, RetryPolicy, Sender
from core.surface import (
    ChatSurface,
    LostPost,
    MessageRef,
    OwedEdits,
    ShowsFeedback,
    StrayCopy,
    post_key,
)
from core.texts import ORPHAN_NOTICE, UNANSWERED_NOTICE

__all__ = [
    "STRAY_TRIES",
    "FindsOpenPosts",
    "LeavesEdits",
    "ReadsMessages",
    "Reaper",
    "SweepsStrays",
]

log = logging.getLogger(__name__)

STRAY_TRIES = 5
"""Scans of a stray copy (failed lookups included) after which a lookup that finds nothing
gives it up: about 2.5 minutes with the default interval's backoff."""


@runtime_checkable
class FindsOpenPosts(Protocol):
    """A surface that can find a post whose answer was lost (see the module docstring)."""

    async def find_open_post(self, lost: LostPost) -> tuple[MessageRef, str] | None:
        """The oldest of the bot's messages in ``lost.where`` newer than the message
        ``lost.after`` (the whole thread when None), not in ``lost.known``, that still shows
        the streaming indicator or the Stop control; with the text the platform shows.
        ``lost.text``, when known, identifies a post that shows neither (a Slack native
        stream) or that went elsewhere (a Discord reply detoured to the parent channel)."""
        ...


@runtime_checkable
class ReadsMessages(Protocol):
    """A surface that can read one of the bot's messages back (see the module docstring);
    the read draws on ``budget_scopes(where, "read")``."""

    async def shows_final(self, message: MessageRef) -> bool | None:
        """True: ``message`` shows a finished reply (neither the streaming indicator nor
        the Stop control, or a native stream's final mark); False: it does not; None: the
        surface cannot tell.
        Raises :class:`~core.errors.SurfaceError` when the read fails."""
        ...


@runtime_checkable
class LeavesEdits(Protocol):
    """A surface whose final edits may be owed after its reply's record is gone (see
    :class:`~core.surface.OwedEdit`): crash recovery sets ``owed_edits`` to where it
    reports them (:class:`~core.ops.recovery.owed.OwedRecords`); a reaper makes those its
    process did not, like any handed-over reply's."""

    owed_edits: OwedEdits | None


@runtime_checkable
class SweepsStrays(Protocol):
    """A surface that may leave stray copies (see the module docstring): crash recovery
    sets ``strays`` to where it leaves them; a reaper has them finalised."""

    strays: Callable[[StrayCopy], Awaitable[None]] | None

    async def finalise_stray(self, stray: StrayCopy) -> bool:
        """Find the copy (the bot's message in ``stray.where``, since ``stray.since``,
        showing one of ``stray.shown``, not ``stray.kept``) and give it ``stray.text`` for
        good; False when it is not there. Raises :class:`~core.errors.SurfaceError` when
        the lookup or the edit failed."""
        ...


class Reaper:
    """Finishes the due replies of the platforms it serves, every ``interval``."""

    def __init__(
        self,
        registry: ReplyRegistry,
        budget: EditBudget,
        *,
        interval: float = 5.0,
        lease: float = 60.0,
        batch: int = 20,
        max_tries: int = 200,
        max_delay: float = 300.0,
        policy: RetryPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.budget = budget
        self.interval = interval
        self.lease = lease
        self.batch = batch
        self.max_tries = max_tries
        self.max_delay = max_delay
        # One try per call here: a failed reply is put back and retried by a later scan.
        self.policy = policy or RetryPolicy(call_timeout=15.0, attempts=1, retry_for=0.0)
        self.surfaces: dict[str, ChatSurface] = {}
        self.finalised = 0
        self._task: asyncio.Task[None] | None = None

    def serve(self, platform: str, surface: ChatSurface) -> None:
        """Finish ``platform``'s due replies through ``surface`` (the registry must serve
        ``platform`` already: its keys name the bot)."""
        if self.registry.keys(platform) is None:
            raise ValueError(f"the registry does not serve {platform!r}")
        self.surfaces[platform] = surface

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="reaper")

    async def _run(self) -> None:
        while True:
            try:
                await self.sweep()
            except SessionStoreError as exc:
                log.warning("reaper: %s", exc)
            except Exception:
                log.exception("reaper sweep failed")
            await asyncio.sleep(self.interval)

    async def sweep(self) -> int:
        """One scan of every platform; returns how many replies were finished."""
        done = 0
        for platform, surface in list(self.surfaces.items()):
            keys = self.registry.keys(platform)
            if keys is None:
                continue
            # One at a time, each claimed just before it is finished and its lease renewed
            # while it is: a batch claimed under one lease outlived it while its replies
            # waited for a saturated budget one after another, and another replica
            # finished them a second time.
            for _ in range(self.batch):
                found = await self.registry.claim(keys, limit=1, lease=self.lease)
                if not found:
                    break
                for claimed in found:
                    if await self._settle(keys, surface, claimed):
                        done += 1
        self.finalised += done
        return done

    async def _keep_lease(self, keys: RecoveryKeys, reply_id: str) -> None:
        """Renew ``reply_id``'s lease every third of it, while it is being finished."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.registry.keep(keys, reply_id, self.lease)
            except SessionStoreError as exc:  # the next renewal may land; else it expires
                log.warning("could not renew the lease of reply %s: %s", reply_id, exc)

    async def _settle(self, keys: RecoveryKeys, surface: ChatSurface, claimed: Claimed) -> bool:
        """Finish one reply, then drop it or put it back; True when it was finished."""
        keeper = asyncio.get_running_loop().create_task(
            self._keep_lease(keys, claimed.reply_id), name=f"lease-{claimed.reply_id}"
        )
        try:
            try:
                if claimed.record.stray is not None:
                    found = await self._sweep_stray(surface, claimed.record.stray)
                else:
                    await self._finish(surface, claimed)
                    found = True
            finally:  # stopped before the reply is dropped or put back for later
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)
        except (MessageGone, Undeliverable) as exc:
            log.info("reply %s cannot be finished (%s): dropped", claimed.reply_id, exc)
        except SurfaceError as exc:
            if claimed.tries >= self.max_tries:
                log.error("giving up on reply %s after %d tries: %s", claimed.reply_id,
                          claimed.tries, exc)  # fmt: skip
            else:
                delay = self._backoff(claimed)
                log.warning("could not finish reply %s (%s); again in %.0fs",
                            claimed.reply_id, exc, delay)  # fmt: skip
                await self.registry.retry_later(keys, claimed.reply_id, delay)
                return False
        else:
            if not found and claimed.tries < STRAY_TRIES:
                await self.registry.retry_later(keys, claimed.reply_id, self._backoff(claimed))
                return False
            if not found:
                log.warning("no stray copy of a post retried blind in %s found after %d "
                            "lookups: given up", claimed.record.where, claimed.tries)  # fmt: skip
            await self.registry.drop(keys, claimed.reply_id)
            return found
        await self.registry.drop(keys, claimed.reply_id)
        return False

    def _backoff(self, claimed: Claimed) -> float:
        return min(self.max_delay, self.interval * 2.0 ** (claimed.tries - 1))

    async def _sweep_stray(self, surface: ChatSurface, stray: StrayCopy) -> bool:
        """Whether the stray copy was there (and is finalised now)."""
        if not isinstance(surface, SweepsStrays):
            return True  # nothing this surface can do: dropped
        try:
            async with asyncio.timeout(self.policy.call_timeout * 2):  # a lookup, an edit
                found = await surface.finalise_stray(stray)
        except TimeoutError as exc:  # put back for a later scan, like a failed edit
            raise PlatformUnavailable(f"looking for a stray copy in {stray.where} timed "
                                      "out") from exc  # fmt: skip
        if found:
            log.warning("finalised a stray copy of a post retried blind in %s", stray.where)
        return found

    async def _finish(self, surface: ChatSurface, claimed: Claimed) -> None:
        record = claimed.record
        where = record.where
        sender = Sender(self.budget, lambda kind: surface.budget_scopes(where, kind), self.policy)

        async def edit(page_index: int, text: str, *, controls: bool = False) -> None:
            message = record.pages[page_index].ref(where)

            async def final_edit() -> None:
                if controls and isinstance(surface, ShowsFeedback):
                    await surface.offer_feedback(message, text)
                else:
                    await surface.edit(message, text, final=True)

            try:
                await sender.call(final_edit, kind="edit", urgent=True, persistent=True)
            except MessageGone:
                log.info("message %s of reply in %s was deleted", message.message_id, where)

        async def post(text: str) -> None:
            key = post_key()
            await sender.call(lambda: surface.post(where, text, key=key), kind="post", urgent=True,
                              persistent=True)  # fmt: skip

        async def final(page_index: int) -> bool | None:
            """Whether the page shows a finished reply (None: cannot tell)."""
            if not isinstance(surface, ReadsMessages):
                return None
            message = record.pages[page_index].ref(where)
            try:
                return await sender.call(lambda: surface.shows_final(message), kind="read",
                                         urgent=True, persistent=True)  # fmt: skip
            except MessageGone:
                return None

        pending = record.posting is not None
        if pending:
            await self._find_post(surface, record)
        elif not record.posted and not record.pages:
            await self._find_placeholder(surface, record)
        if record.handed_over:
            for i, page in enumerate(record.pages):
                await edit(i, page.text, controls=page.message_id == record.feedback)
            for text in record.unsent:
                await post(text)
            return
        indicator = surface.limits.streaming_indicator
        shown = [p.text.removesuffix(indicator) if indicator else p.text for p in record.pages]
        if not pending and record.posted and shown and await final(len(shown) - 1) is True:
            # Complete: its owner's last final edit landed (see the module docstring).
            for i in range(len(shown) - 1):
                if await final(i) is not True:
                    await edit(i, shown[i])
            log.warning("reply %s in %s, left by %s, was complete: its record is dropped "
                        "without a notice", claimed.reply_id, where, record.owner)  # fmt: skip
            return
        log.warning("finishing reply %s in %s orphaned by %s (try %d)", claimed.reply_id, where,
                    record.owner, claimed.tries)  # fmt: skip
        for i, text in enumerate(shown[:-1]):
            await edit(i, text)
        note = surface.render(ORPHAN_NOTICE if record.posted else UNANSWERED_NOTICE)
        if shown:
            text, extra = with_notice(shown[-1], note, limit=surface.limits.max_message_chars)
            await edit(len(shown) - 1, text)
        else:
            extra = note
        if extra is not None:
            await post(extra)
        with contextlib.suppress(SurfaceError, TimeoutError):  # best effort, as the relay's
            async with asyncio.timeout(self.policy.call_timeout):
                await surface.set_status(where, None)

    async def _look(
        self, surface: ChatSurface, record: ReplyRecord, text: str | None = None
    ) -> tuple[MessageRef, str] | None:
        """The bot's oldest open message in the reply's thread that the record does not name."""
        if not isinstance(surface, FindsOpenPosts):
            return None
        where = record.where
        known = [p.message_id for p in record.pages]
        try:
            async with asyncio.timeout(self.policy.call_timeout):
                return await surface.find_open_post(LostPost(where, record.last, known, text))
        except TimeoutError as exc:  # put back for a later scan, like a failed edit
            raise PlatformUnavailable(f"looking for a lost post in {where} timed out") from exc

    async def _find_placeholder(self, surface: ChatSurface, record: ReplyRecord) -> None:
        """A reply that never showed text may still show a status message of its own (Slack's
        "Thinking…" placeholder, with its Stop button, where Slack refuses a thread status):
        it becomes the page the notice is written into, so no button is left behind."""
        found = await self._look(surface, record)
        if found is not None:
            message, _ = found
            record.pages.append(Page(message.message_id, "", message.stream))

    async def _find_post(self, surface: ChatSurface, record: ReplyRecord) -> None:
        """The pending post, if it landed, becomes the record's last page."""
        found = await self._look(surface, record, record.posting)
        posting, record.posting = record.posting or "", None
        if found is None:
            return
        message, text = found
        log.warning("reply in %s: found message %s, posted by %s without an answer",
                    record.where, message.message_id, record.owner)  # fmt: skip
        indicator = surface.limits.streaming_indicator
        if record.handed_over and record.unsent:
            # The owner's finish was cut short while this post was in flight: the post was
            # for the first final text not posted, which it shows instead of being posted.
            posting = record.unsent[0]
        text = posting or text
        if indicator:  # a final text now (a handed-over reply's pages are edited as they are)
            text = text.removesuffix(indicator)
        if text in record.unsent:  # a final text whose post did land after all
            record.unsent.remove(text)
        place = None if message.where == record.where else message.where  # detoured
        record.pages.append(Page(message.message_id, text, message.stream, place))
        record.posted = True

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
