"""Keeping the newest earlier messages within a count and a character budget (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from core.context.models import EarlierMessage

__all__ = ["bound"]


def bound(
    messages: Sequence[EarlierMessage], *, max_messages: int, max_chars: int, unseen: int = 0
) -> tuple[tuple[EarlierMessage, ...], int]:
    """The newest messages that fit, oldest first, and how many were left out.

    Empty messages (Discord without the Message Content intent shows others' messages
    empty) are dropped, not counted. ``unseen``: older messages the source did not even
    read (past its page bound), added to the count left out. A message longer than the
    whole budget is cut rather than dropped only when it is the newest: the message just
    before the question is the one most likely to matter.
    """
    present = [m for m in messages if not m.empty]
    kept: list[EarlierMessage] = []
    used = 0
    for message in reversed(present):
        if len(kept) >= max_messages:
            break
        size = len(message.line()) + 1
        if used + size > max_chars:
            if not kept and max_chars > 0:
                room = max(0, max_chars - (size - len(message.text)) - 2)
                kept.append(_cut(message, room))
            break
        kept.append(message)
        used += size
    kept.reverse()
    return tuple(kept), len(present) - len(kept) + unseen


def _cut(message: EarlierMessage, room: int) -> EarlierMessage:
    text = message.text[: max(0, room)].rstrip() + "…"
    return EarlierMessage(message.id, message.author, text, message.from_bot, message.files)
