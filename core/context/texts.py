"""What users read about their files and the thread's context (one place for the texts)."""

from __future__ import annotations

from collections.abc import Sequence

from core.context.models import SkippedFile

__all__ = [
    "FILES_OFF",
    "NOT_RECEIVED",
    "NOT_SHARED",
    "TOO_MANY",
    "UNSUPPORTED",
    "cut_note",
    "files_only_text",
    "not_passed_on",
    "skipped_notice",
    "too_large",
]

UNSUPPORTED = "this agent cannot read this type of file"
NOT_SHARED = "the bot cannot open it"
FILES_OFF = "files are not passed to the agent here"
NOT_RECEIVED = "the agent's file store did not take it"
TOO_MANY = "only the first {limit} files are passed on"


def cut_note(total: int, kept: int) -> str:
    return f"\n[… cut: the first {kept:,} of {total:,} characters are shown]"


def too_large(size: int, cap: int) -> str:
    return f"too large ({size:,} bytes; the limit is {cap:,})"


def skipped_notice(skipped: Sequence[SkippedFile]) -> str:
    """One short notice naming every file the agent did not get, and why."""
    lines = [f"• *{s.name}*: {s.reason}" for s in skipped]
    head = (
        "The agent did not get this file:"
        if len(skipped) == 1
        else ("The agent did not get these files:")
    )
    return "\n".join([head, *lines])


def not_passed_on(names: Sequence[str]) -> str:
    """Said to the agent about the user's files it does not get."""
    return f"(The user also attached {', '.join(names)}, which could not be passed on.)"


def files_only_text(names: Sequence[str]) -> str:
    """The message's text when the user sent files and no words."""
    return f"(The user sent {', '.join(names)} without a message.)"
