"""Every sentence the Slack bot itself says (Markdown; the surface renders it)."""

from __future__ import annotations

__all__ = ["NEW_SESSION", "NOTHING_TO_STOP"]

NEW_SESSION = "_Started a new conversation: I won't remember what was said before in this thread._"
NOTHING_TO_STOP = "_Nothing to stop: no reply is streaming in this thread._"
