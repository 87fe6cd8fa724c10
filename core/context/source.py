"""What a platform adapter offers the core for a turn's context (a small protocol).

The adapter is the only code that knows the platform's API: it reads the thread's earlier
messages (Slack ``conversations.replies``, Discord channel history or a reply chain) and
says how a user's file may be fetched (which host, which headers). The core decides what
to keep, downloads through the address-checking client and tells the agent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.context.models import EarlierMessage
from core.turn import Attachment, Turn

__all__ = ["ContextSource", "Earlier", "FileRefused", "FileRequest"]


@dataclass(frozen=True, slots=True)
class Earlier:
    """Messages written before the turn, after ``after``, oldest first.

    ``unseen``: older messages the adapter did not keep or read (it reads a bounded number
    of pages; they count as left out). ``problem``: why nothing could be read (logged).
    """

    messages: tuple[EarlierMessage, ...] = ()
    unseen: int = 0
    problem: str | None = field(default=None)


@dataclass(frozen=True, slots=True)
class FileRequest:
    """How to fetch one attachment: ``url`` (as the platform gave it) and ``headers``.

    ``login_page``: what an HTML page in place of the file means on this platform (Slack
    answers a sign-in page, HTTP 200, when the token may not read files), said to the user.
    """

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    login_page: str | None = None


class FileRefused(Exception):
    """The adapter will not fetch this file; the message says why (shown to the user)."""


@runtime_checkable
class ContextSource(Protocol):
    """A platform's reader of earlier messages and files."""

    async def earlier(self, turn: Turn, *, after: str | None, limit: int) -> Earlier:
        """Up to ``limit`` (newest) messages of the turn's conversation written after the
        message ``after`` (None: from its start) and before the turn's own message. Never
        raises: a failure is an empty result with ``problem`` (logged)."""
        ...

    def file_request(self, turn: Turn, attachment: Attachment) -> FileRequest:
        """How to fetch ``attachment``; raises :class:`FileRefused` when it must not be."""
        ...
