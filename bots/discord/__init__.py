"""The Discord bot: a thread per conversation, replies streamed by message edits.

``threadcast discord`` runs :func:`bots.discord.app.run_discord`; :class:`DiscordBot` is the
bot itself (usable in tests and benchmarks against the simulator).
"""

from __future__ import annotations

from bots.discord.bot import DiscordBot
from bots.discord.settings import DiscordSettings, load_discord_settings

__all__ = ["DiscordBot", "DiscordSettings", "load_discord_settings"]
