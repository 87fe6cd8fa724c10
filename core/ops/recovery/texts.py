"""What crash recovery tells a chat user (Markdown, rendered by the platform's surface)."""

from __future__ import annotations

__all__ = ["ORPHAN_NOTICE", "UNANSWERED_NOTICE"]

ORPHAN_NOTICE = "⚠️ _This reply was cut off because the bot restarted. Please ask again._"
"""Added to a reply whose replica died while it streamed."""

UNANSWERED_NOTICE = (
    "⚠️ _The bot restarted before it could answer this message. Please send it again._"
)
"""Posted for a message whose replica died before the reply showed anything (it waited
behind another turn, or the agent had not answered yet)."""
