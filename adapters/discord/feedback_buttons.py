"""👍 / 👎 under a completed reply: two buttons, one persistent view.

Like the Stop button (:mod:`adapters.discord.stop_button`): one persistent view with fixed
``custom_id``\\ s is registered at start-up, so a vote on any reply, even one posted before
a restart, reaches the handler; messages carry a stopped template of it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from core.feedback.model import VoteValue

__all__ = ["FEEDBACK_DOWN_ID", "FEEDBACK_UP_ID", "FeedbackView", "VoteHandler", "feedback_template"]

FEEDBACK_UP_ID = "threadcast:feedback:up"
FEEDBACK_DOWN_ID = "threadcast:feedback:down"

VoteHandler = Callable[[discord.Interaction, VoteValue], Awaitable[None]]


class FeedbackView(discord.ui.View):
    """The two buttons; ``on_vote`` answers a click (None: a template that only renders)."""

    def __init__(self, on_vote: VoteHandler | None = None) -> None:
        super().__init__(timeout=None)
        self._on_vote = on_vote

    @discord.ui.button(emoji="👍", style=discord.ButtonStyle.secondary, custom_id=FEEDBACK_UP_ID)
    async def up(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        if self._on_vote is not None:
            await self._on_vote(interaction, "up")

    @discord.ui.button(emoji="👎", style=discord.ButtonStyle.secondary, custom_id=FEEDBACK_DOWN_ID)
    async def down(self, interaction: discord.Interaction, button: discord.ui.Button[Any]) -> None:
        if self._on_vote is not None:
            await self._on_vote(interaction, "down")


def feedback_template() -> FeedbackView:
    """A view to attach to replies; call inside the running loop."""
    view = FeedbackView()
    view.stop()
    return view
