"""The three parts wired together, as the runtime uses them: :class:`Recovery`."""

from __future__ import annotations

import logging

from core.errors import SessionStoreError
from core.ops.recovery.heartbeat import Heartbeat, RegisteredReply
from core.ops.recovery.owed import OwedRecords
from core.ops.recovery.reaper import LeavesEdits, Reaper, SweepsStrays
from core.ops.recovery.registry import RecoveryKeys, ReplyRegistry
from core.surface import ChatSurface, StrayCopy
from core.turn import ThreadRef

__all__ = ["STRAY_DELAY", "Recovery"]

log = logging.getLogger(__name__)

STRAY_DELAY = 2.0
"""A stray copy is first looked for this long after it is left (the platform's history may
lag a moment behind its posts)."""


class Recovery:
    """The registry, this process's heartbeat and its reaper (the relay's observer).

    Nothing is registered until a bot calls :meth:`serve`: only a platform whose bot is
    known can be finished by another replica.
    """

    def __init__(
        self, registry: ReplyRegistry, reaper: Reaper, *, stray_delay: float = STRAY_DELAY,
        pending_delay: float | None = None,
    ) -> None:  # fmt: skip
        self.registry = registry
        self.reaper = reaper
        self.stray_delay = stray_delay
        # A stray left before its retry is answered (``StrayCopy.kept`` empty) is looked for
        # once the retry has surely been answered, or its replica is surely dead (2 ttl:
        # 30 s by default, a post's call timeout); answered, it is left again with ``kept``.
        self.pending_delay = max(stray_delay, 2 * registry.ttl if pending_delay is None
                                 else pending_delay)  # fmt: skip
        self.heartbeat = Heartbeat(registry)

    def serve(self, platform: str, bot: str, surface: ChatSurface) -> None:
        """Register ``platform``'s turns under the bot ``bot`` (its user or app id) and
        finish that bot's due replies through ``surface``; starts the heartbeat and the
        reaper (call it from the running loop). A surface that may leave stray copies
        leaves them in the registry (:class:`~core.ops.recovery.reaper.SweepsStrays`), one
        that may owe final edits reports them there too
        (:class:`~core.ops.recovery.reaper.LeavesEdits`)."""
        keys = self.registry.serve(platform, bot)
        self.reaper.serve(platform, surface)
        if isinstance(surface, SweepsStrays):
            surface.strays = lambda stray: self._leave(keys, stray)
        if isinstance(surface, LeavesEdits):
            surface.owed_edits = OwedRecords(self.registry, keys)
        self.heartbeat.start()
        self.reaper.start()

    async def _leave(self, keys: RecoveryKeys, stray: StrayCopy) -> None:
        """Never raises: a stray that could not be registered is logged (it stays as it is)."""
        try:
            delay = self.stray_delay if stray.kept else self.pending_delay
            await self.registry.leave(keys, stray, delay=delay)
        except SessionStoreError as exc:
            log.warning("could not register a stray copy in %s (it may keep showing the "
                        "streaming indicator): %s", stray.where, exc)  # fmt: skip

    def begin(self, where: ThreadRef, *, since: str | None = None) -> RegisteredReply | None:
        """Register one turn in ``where`` (``None``: its platform is not served); ``since``,
        the turn's message, bounds where a reaper looks for a post whose answer was lost."""
        keys = self.registry.keys(where.platform)
        if keys is None:
            return None
        return RegisteredReply(self.registry, keys, where, since=since)

    async def aclose(self) -> None:
        """The reaper and the heartbeat stop, then pending record writes land (bounded)."""
        await self.reaper.aclose()
        await self.heartbeat.aclose()
        await self.registry.aclose()
