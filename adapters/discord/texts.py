"""Every sentence the Discord adapter itself shows users (the bot's are in
``bots.discord.texts``, the core's in ``core.texts``)."""

from __future__ import annotations

__all__ = ["DETOUR", "LOCKED"]

DETOUR = (
    "ℹ️ I can't post in <#{thread}>: I'm missing the **{permission}** permission there, "
    "so I'm answering here instead. A server admin can grant it."
)
LOCKED = (
    "ℹ️ A moderator locked <#{thread}>, so I can't post there any more: I'm answering here instead."
)
