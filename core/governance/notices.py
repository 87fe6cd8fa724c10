"""Telling a refused user why, privately, at most once per user per hour.

Private means only that user sees it, and nothing is said in a channel the bot may not
use: Slack posts an ephemeral message (``chat.postEphemeral``), Discord a direct message
(a message event cannot get an ephemeral reply: Discord's ``EPHEMERAL`` flag exists only
for interaction responses), the console prints it. A surface without the capability says
nothing: the refusal is logged. "Once per hour" is one Redis key per user (``SET NX EX``),
shared by every replica; if Redis fails the user is not told (better silent than noisy).
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

import redis.asyncio as aioredis

from core.errors import SessionStoreError, SurfaceError
from core.governance.access import Admission
from core.governance.keys import notice_key
from core.redis import DEFAULT_OP_TIMEOUT
from core.sessions.scripts import SEEN
from core.texts import DENIED
from core.turn import ThreadRef, Turn

__all__ = ["NOTICE_INTERVAL", "AccessNotices", "PrivateNotices"]

log = logging.getLogger(__name__)

NOTICE_INTERVAL = 3600
"""Seconds between two access notices to one user."""


@runtime_checkable
class PrivateNotices(Protocol):
    """A surface that can show one user a note nobody else sees (optional capability)."""

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        """Show ``markdown`` to ``user`` only, near ``where``; ``about`` is the id of the
        message it answers (a platform may place the note beside it)."""
        ...


class AccessNotices:
    """Sends the access notices of one deployment (see the module docstring)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        interval: int = NOTICE_INTERVAL,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.interval = interval
        self.op_timeout = op_timeout

    async def refuse(self, surface: object, turn: Turn, admission: Admission) -> bool:
        """Tell the user why ``turn`` is not answered, unless told within the hour;
        True when a notice was sent."""
        reason = admission.reason or "user"
        log.info("message %s refused (%s)", turn.message_id, reason)
        if not isinstance(surface, PrivateNotices):
            return False
        key = notice_key(self.namespace, turn.where.platform, turn.user)
        try:
            first = await SEEN(self.redis, [key], [self.interval], within=self.op_timeout)
        except SessionStoreError as exc:
            log.warning("access notice skipped (Redis): %s", exc)
            return False
        if not first:
            return False
        try:
            await surface.tell_privately(
                turn.where, turn.user, DENIED[reason], about=turn.message_id
            )
        except SurfaceError as exc:
            log.warning("could not tell %s why: %s", turn.user, exc)
            return False
        return True
