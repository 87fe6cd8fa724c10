"""Cleaning and checking what a user sent, before any agent is called.

Chat platforms deliver anything: empty mentions, pasted megabytes, control characters and
lone UTF-16 surrogates (from broken clients). Each gets a clear, friendly outcome here so
the agent only ever sees text it can take.

Ids are checked too (:func:`valid_id`): a channel, user, thread or message id becomes part
of Redis keys and API calls, and one that cannot be encoded (a lone surrogate) would crash
the turn there. A bot drops an event whose ids fail the check, at its boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core import texts

__all__ = ["InboundCheck", "check_inbound", "clean_text", "invalid_ids", "valid_id"]

# C0/C1 controls except tab and newline; DEL. Carriage returns are folded into newlines.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Every platform's ids are short printable ASCII without spaces: Slack's "C0123ABC" and
# "1712.000100", Discord's snowflakes, the console's names.
_ID = re.compile(r"[!-~]{1,255}")


@dataclass(frozen=True, slots=True)
class InboundCheck:
    """``text`` is what to send the agent; ``reply`` (when set) is answered instead."""

    text: str
    reply: str | None = None


def clean_text(text: str) -> str:
    """Drop control characters and replace lone surrogates, keeping all real text."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    # Lone surrogates cannot be encoded as UTF-8 (httpx and Redis would raise): replace them.
    return text.encode("utf-8", "replace").decode("utf-8")


def check_inbound(text: str, *, max_chars: int) -> InboundCheck:
    """Decide whether ``text`` goes to the agent.

    Over-long messages are rejected with a notice rather than truncated: a silently cut
    question gets a confidently wrong answer.
    """
    cleaned = clean_text(text).strip()
    if not cleaned:
        return InboundCheck("", reply=texts.EMPTY_MESSAGE)
    if len(cleaned) > max_chars:
        return InboundCheck("", reply=texts.message_too_long(len(cleaned), max_chars))
    return InboundCheck(cleaned)


def valid_id(value: object) -> bool:
    """Whether ``value`` is a usable platform id (see the module docstring)."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def invalid_ids(**ids: object) -> list[str]:
    """The names of the given ids that are not valid; ``None`` means absent (allowed)."""
    return [name for name, value in ids.items() if value is not None and not valid_id(value)]
