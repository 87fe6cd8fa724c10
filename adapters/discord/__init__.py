"""The Discord adapter: the only code that calls Discord's API (through discord.py).

:class:`DiscordSurface` is the relay's surface; :mod:`~adapters.discord.refs` maps Discord
threads and DMs to :class:`~core.turn.ThreadRef`; :class:`DiscordBudget` (Discord's
:class:`DiscordRates` paced by the edit scheduler), :class:`RateLimitReporter` and
:class:`WirePace` (the count of requests as they leave) keep the bot's requests under
Discord's rate limits.
"""

from __future__ import annotations

from adapters.discord.budgets import (
    BOT_SCOPE,
    DiscordBudget,
    DiscordRates,
    RateLimitReporter,
    bot_scope_key,
)
from adapters.discord.embeds import structured_embed
from adapters.discord.errors import translate
from adapters.discord.refs import channel_id, guild_id, place
from adapters.discord.stop_button import STOP_CUSTOM_ID, StopView
from adapters.discord.surface import DISCORD_LIMITS, DiscordSurface, thread_name
from adapters.discord.wire_pace import WirePace

__all__ = [
    "BOT_SCOPE",
    "DISCORD_LIMITS",
    "STOP_CUSTOM_ID",
    "DiscordBudget",
    "DiscordRates",
    "DiscordSurface",
    "RateLimitReporter",
    "StopView",
    "WirePace",
    "bot_scope_key",
    "channel_id",
    "guild_id",
    "place",
    "structured_embed",
    "thread_name",
    "translate",
]
