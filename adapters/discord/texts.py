"""Every sentence the Discord adapter itself shows users (the bot's are in
``bots.discord.texts``, the core's in ``core.texts``)."""

from __future__ import annotations

__all__ = ["DETOUR", "FILE_TOO_LARGE", "LOCKED", "MISSING_FILE_PERMISSION"]

DETOUR = (
    "ℹ️ I can't post in <#{thread}>: I'm missing the **{permission}** permission there, "
    "so I'm answering here instead. A server admin can grant it."
)
LOCKED = (
    "ℹ️ A moderator locked <#{thread}>, so I can't post there any more: I'm answering here instead."
)

# Why an agent's file was not attached (core.texts.ARTIFACT_FAILED's ``reason``).
FILE_TOO_LARGE = "Discord refused it: the file is larger than Discord takes here"
"""For a 413 / 40005 ("Request entity too large"). Not the limit in figures: the bot
already keeps to the limit it knows for the place (``DiscordSurface.file_limit``), so
Discord refuses when its own is lower (a boost lost), and the figure would be wrong."""
MISSING_FILE_PERMISSION = (
    "Discord refused it: the bot is missing the **{permission}** permission here "
    "(a server admin can grant it)"
)
"""For an upload refused with 50013 (Missing Permissions) where text went through."""
