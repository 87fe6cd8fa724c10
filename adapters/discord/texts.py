"""Every sentence the Discord adapter itself shows users (the bot's are in
``bots.discord.texts``, the core's in ``core.texts``)."""

from __future__ import annotations

__all__ = ["DETOUR", "FILE_TOO_LARGE", "LOCKED"]

DETOUR = (
    "ℹ️ I can't post in <#{thread}>: I'm missing the **{permission}** permission there, "
    "so I'm answering here instead. A server admin can grant it."
)
LOCKED = (
    "ℹ️ A moderator locked <#{thread}>, so I can't post there any more: I'm answering here instead."
)
FILE_TOO_LARGE = "Discord refused it: the file is larger than this server takes"
"""Why an agent's file was not attached (the "Could not attach" notice's reason), when
Discord refused it as too large (413 / 40005)."""
