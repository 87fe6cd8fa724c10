"""What of a still-growing reply may be streamed: text that will not change any more."""

from __future__ import annotations

import re

__all__ = ["stable_prefix"]

_FENCE_LINE = re.compile(r" {0,3}(?:`{3,}|~{3,})[ \t]*")
_TAIL = re.compile(r"\S*\Z")


def stable_prefix(text: str) -> str:
    """What of a still-growing ``text`` will not change: up to its last whitespace, without
    a trailing fence line (see :mod:`adapters.slack.native`).

    A fence line typed by the agent looks like one the relay added, so it is withheld too;
    the prefix of a later text may then be *shorter* than one sent before, but it is always
    a prefix of the final text.
    """
    head, newline, last = text.rpartition("\n")
    if newline and _FENCE_LINE.fullmatch(last):
        text = head
    tail = _TAIL.search(text)
    return text[: tail.start()] if tail else text
