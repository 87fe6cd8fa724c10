"""What the bots tell a voter, privately (Markdown; each surface renders it)."""

from __future__ import annotations

__all__ = ["CHANGED", "DOWN_LABEL", "REASON_HINT", "REASON_LABEL", "REASON_SAVED",
           "REASON_SKIP", "REASON_SUBMIT", "REASON_TITLE", "THANKS_DOWN", "THANKS_UP", "UNKNOWN",
           "UP_LABEL", "thanks"]  # fmt: skip

UP_LABEL = "Good answer"
DOWN_LABEL = "Bad answer"
THANKS_UP = "_Thanks for the 👍: your feedback was recorded._"
THANKS_DOWN = "_Thanks for the 👎: your feedback was recorded._"
CHANGED = "_Your vote on this reply was changed._"
REASON_SAVED = "_Thanks: your reason was recorded with your vote._"
UNKNOWN = "_This reply can no longer be rated._"
REASON_TITLE = "What went wrong?"
REASON_LABEL = "Tell us why (optional)"
REASON_HINT = "Wrong, incomplete, off topic…"
REASON_SUBMIT = "Send"
REASON_SKIP = "Skip"


def thanks(vote: str, status: str) -> str:
    """The note for a vote: thanks, that it changed, or that it could not be recorded."""
    if status == "unknown":
        return UNKNOWN
    if status == "changed":
        return CHANGED
    return THANKS_UP if vote == "up" else THANKS_DOWN
