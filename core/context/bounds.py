"""Keeping the newest earlier messages within a count and a character budget (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core import texts
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
    before the question is the one most likely to matter. A cut message ends with a note
    saying how many characters are not shown (``texts.message_cut_note``), on its last
    line, so the transcript's indentation of further lines holds.
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
                kept.append(_cut(message, max_chars))
            break
        kept.append(message)
        used += size
    kept.reverse()
    return tuple(kept), len(present) - len(kept) + unseen


def _cut(message: EarlierMessage, max_chars: int) -> EarlierMessage:
    """The message's start, with the note, whose transcript entry (and its line break)
    fits ``max_chars``: measured on the entry itself, as its name, its files and the
    indentation of each further line take room too. Each try shortens the text by what
    did not fit, so a few tries do."""
    text = message.text.strip()
    room = len(text)
    while True:
        shown = text[:room].rstrip()
        cut = replace(message, text=shown + texts.message_cut_note(len(text) - len(shown)))
        excess = len(cut.line()) + 1 - max_chars
        if excess <= 0 or room == 0:
            return cut
        room = max(0, room - excess)
