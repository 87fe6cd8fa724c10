"""The optional "why?" after a 👎 on Discord: a modal with one long text input.

Sent as the click's response (type 9; discord-api-docs Interactions: "respond to an
interaction with a popup modal"), so it must come within the click's 3 seconds, before any
I/O. discord.py keeps the modal until it is submitted and calls :meth:`on_submit` then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import discord

from core.feedback.model import REASON_MAX_CHARS
from core.texts import REASON_HINT, REASON_LABEL, REASON_TITLE

__all__ = ["ReasonHandler", "ReasonModal"]

ReasonHandler = Callable[[discord.Interaction, str], Awaitable[None]]


class ReasonModal(discord.ui.Modal):
    """``on_reason(interaction, text)`` gets the submitted reason (maybe empty)."""

    def __init__(self, on_reason: ReasonHandler) -> None:
        super().__init__(title=REASON_TITLE, timeout=600)
        self._on_reason = on_reason
        self.reason: discord.ui.TextInput[ReasonModal] = discord.ui.TextInput(
            label=REASON_LABEL,
            style=discord.TextStyle.long,
            placeholder=REASON_HINT,
            required=False,
            max_length=REASON_MAX_CHARS,
            custom_id="threadcast:reason",
        )
        self.add_item(self.reason)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await self._on_reason(interaction, self.reason.value or "")
