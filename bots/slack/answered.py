"""Which Slack messages the bot has answered: one durable mark per message, in Redis.

Slack sends a mention again when its message is edited (``app_mention`` with a new
``event_id``, the same ``ts`` and an ``edited`` field; see :mod:`bots.slack.events`). The
turn gate's dedup (ten minutes, keyed on the message) drops it only inside that window; an
edit made later would be a second reply. So every message the bot answers is marked
(``SET NX``, keyed on the message, :data:`ANSWERED_TTL`), before the turn starts:

- a message (edited or not) whose mark exists is not answered again, however late;
- the first mention of the bot added by an edit finds no mark and is answered once, with
  the edited text;
- an edit of a message older than :data:`EDIT_WINDOW` is never answered: whether it was
  answered is no longer remembered, and a second reply is worse than none.

The mark and the edit window cost one Redis round trip per Slack turn.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from core.sessions.store import SessionStore

__all__ = ["ANSWERED_TTL", "EDIT_WINDOW", "AnsweredMarks"]

DAY = 24 * 3600
ANSWERED_TTL = 7 * DAY
"""How long a message is remembered as answered (one small key per answered message)."""
EDIT_WINDOW = ANSWERED_TTL - DAY
"""Edits of messages older than this are never answered (a day short of the mark's life,
so a message answered late, after waiting in its thread's queue, is still marked)."""


class AnsweredMarks:
    """``claim`` a message before answering it; see the module docstring."""

    def __init__(self, sessions: SessionStore, *, clock: Callable[[], float] = time.time) -> None:
        self._sessions = sessions
        self._clock = clock

    async def claim(self, conversation: str, message_id: str) -> bool:
        """True the first time ``message_id`` is claimed (answer it), False if answered."""
        return await self._sessions.mark_seen(
            conversation, f"answered:slack:{message_id}", ttl=ANSWERED_TTL
        )

    def too_old_to_edit(self, ts: str) -> bool:
        """Whether an edit of the message posted at Slack ``ts`` is past the window."""
        try:
            posted = float(ts)
        except ValueError:
            return True
        return not math.isfinite(posted) or self._clock() - posted > EDIT_WINDOW
