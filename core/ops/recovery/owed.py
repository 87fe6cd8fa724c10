"""The final edits a surface owes after its reply's record is gone: :class:`OwedRecords`.

A reply's record is dropped as soon as its final edit returns. A Slack native stream's
final edit may return before it is whole on Slack: its ``chat.stopStream`` (Tier 2) met a
429 and waits in a paced queue, with the mark crash recovery reads and the 👍 / 👎 controls
(:mod:`adapters.slack.stops`). A process killed meanwhile (SIGKILL, OOM) left that stream to
expire on Slack's side, shown broken for good, unmarked and without its controls: no record
named it. The surface therefore reports each such edit (:class:`~core.surface.OwedEdits`)
and it is kept here as a record of its own, until the surface has made it.

Each is a record of its one page, already final (``handed_over``: a reaper makes the edit,
with the controls when it carries them, and adds no notice), but *held* by this process
like a reply in flight: not due while this process beats, and due with its other replies
once it is presumed dead. It is written before the reply's final edit returns (bounded,
like a write ahead of an edit), so that edit's record is dropped only once this one is in
Redis; it is dropped once the surface made the edit (a stop landed), and handed over at a
clean shutdown (due at once), under the same id: one record, finished once. A drop that
lands before the write makes the write a no-op (the registry remembers the id ended).
"""

from __future__ import annotations

import asyncio
import logging

from core.errors import SessionStoreError
from core.ops.recovery.record import Page, ReplyRecord
from core.ops.recovery.registry import RecoveryKeys, ReplyRegistry
from core.surface import OwedEdit

__all__ = ["OwedRecords"]

log = logging.getLogger(__name__)


class OwedRecords:
    """The :class:`~core.surface.OwedEdits` of one served surface (see the module).
    Never raises: a registry failure is logged (the edit is then only the surface's)."""

    def __init__(self, registry: ReplyRegistry, keys: RecoveryKeys) -> None:
        self.registry = registry
        self.keys = keys

    async def owe(self, edit: OwedEdit) -> None:
        """Held by this process from now on; waits up to the registry's ``ahead_timeout``
        for the write, which goes on in the background after that."""
        write = self.registry.spawn(lambda: self._write(edit), f"recovery-owe-{edit.key}")
        await asyncio.wait({write}, timeout=self.registry.ahead_timeout)

    def made(self, edit: OwedEdit) -> None:
        """Dropped, tried again until Redis answers (the process's shutdown stops it): a
        record left behind would be made again once this process is gone."""
        self.registry.spawn(lambda: self._drop(edit), f"recovery-made-{edit.key}")

    async def leave(self, edit: OwedEdit) -> None:
        """Handed over: due at once (registered then, if its write never landed)."""
        try:
            await self.registry.hand_over(self.keys, _record_id(edit), self._record(edit))
        except SessionStoreError as exc:
            log.warning("could not leave the final edit of %s to crash recovery (it stays "
                        "as it is): %s", edit.message.message_id, exc)  # fmt: skip

    def _record(self, edit: OwedEdit) -> ReplyRecord:
        message = edit.message
        page = Page(message.message_id, edit.text, message.stream)
        return ReplyRecord(self.registry.owner, message.where, [page], posted=True,
                           handed_over=True,
                           feedback=message.message_id if edit.controls else None)  # fmt: skip

    async def _write(self, edit: OwedEdit) -> None:
        try:
            await self.registry.write(self.keys, _record_id(edit), self._record(edit), first=True)
        except SessionStoreError as exc:
            log.warning("could not register the final edit %s still owes (should this "
                        "process die first, it expires as it is): %s",
                        edit.message.message_id, exc)  # fmt: skip

    async def _drop(self, edit: OwedEdit) -> None:
        failures = 0
        while True:
            try:
                await self.registry.drop(self.keys, _record_id(edit))
                return
            except SessionStoreError as exc:
                failures += 1
                if failures == 1:
                    log.warning("could not drop the record of the final edit of %s (tried "
                                "again until Redis answers): %s", edit.message.message_id,
                                exc)  # fmt: skip
            await asyncio.sleep(self.registry.retry_delay(failures))


def _record_id(edit: OwedEdit) -> str:
    return f"owed-{edit.key}"
