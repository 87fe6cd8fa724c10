"""What one reply has learnt about its thread that makes more calls there pointless.

A reply meets a permanent refusal once: the channel was archived or deleted, the bot was
removed (``not_in_channel``), or the token was revoked. From then on, every call of that
reply fails at once with the same refusal instead of reaching Slack (the core never retries
an :class:`~core.errors.Undeliverable` either), and the bot is told once, so it stops the
reply and its agent. A reply whose blocks Slack refused (``invalid_blocks``) sends plain
text for the rest of its life (``markdown`` blocks: their mrkdwn form). One guard per reply
(per surface view): the next conversation starts afresh.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from adapters.slack.errors import SlackError, SlackUndeliverable
from core.turn import ThreadRef

__all__ = ["ReplyGuard", "plain_if_refused"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class ReplyGuard:
    """``with guard.watch(where): await api_call(...)``; see the module docstring."""

    def __init__(self, give_up: Callable[[ThreadRef, str], None]) -> None:
        self._give_up = give_up  # (where, reason) -> None: stop this reply
        self.refused: SlackUndeliverable | None = None
        self.plain_text = False  # Slack refused this reply's blocks once

    @property
    def dead(self) -> bool:
        return self.refused is not None

    @contextmanager
    def watch(self, where: ThreadRef) -> Iterator[None]:
        refused = self.refused
        if refused is not None:
            raise SlackUndeliverable(refused.method, refused.code, "not sent: refused before")
        try:
            yield
        except SlackUndeliverable as exc:
            if self.refused is None:
                self.refused = exc
                self._give_up(where, exc.code or "refused")
            raise

    def blocks_refused(self, exc: SlackError) -> bool:
        """Whether ``exc`` refused the blocks (then send plain text from now on)."""
        if exc.code in ("invalid_blocks", "invalid_blocks_format"):
            self.plain_text = True
            return True
        return False


async def plain_if_refused(call: Callable[[bool], Awaitable[T]], guard: ReplyGuard | None) -> T:
    """``call(plain)``; once more as plain text when Slack refuses the blocks, and plain
    text for the rest of the reply (the Stop button goes; the ``stop`` word remains). No
    guard (a call of no turn's reply): blocks, and a refusal raises."""
    plain = guard is not None and guard.plain_text
    try:
        return await call(plain)
    except SlackError as exc:
        if plain or guard is None or not guard.blocks_refused(exc):
            raise
        log.warning("Slack refused the blocks (%s): this reply continues as text", exc.code)
        return await call(True)
