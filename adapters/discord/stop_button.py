"""The Stop button shown on a reply while it streams.

One persistent view (``timeout=None``, fixed ``custom_id``) is registered with the client at
start-up (``client.add_view(StopView(on_stop))``); discord.py then routes a click on *any*
message carrying ``threadcast:stop`` to it, even after a restart. The button is attached to
messages from a stopped *template* view: discord.py does not track a finished view per
message, so thousands of streamed messages cost no memory in its view store.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord

from core.texts import STOP_LABEL

__all__ = ["STOP_CUSTOM_ID", "StopHandler", "StopView", "stop_template"]

STOP_CUSTOM_ID = "threadcast:stop"

StopHandler = Callable[[discord.Interaction], Awaitable[None]]


class StopView(discord.ui.View):
    """The Stop button; ``on_stop`` answers a click (None: a template that only renders)."""

    def __init__(self, on_stop: StopHandler | None = None) -> None:
        super().__init__(timeout=None)
        self._on_stop = on_stop

    @discord.ui.button(
        label=STOP_LABEL, style=discord.ButtonStyle.secondary, emoji="⏹", custom_id=STOP_CUSTOM_ID
    )
    async def stop_button(
        self, interaction: discord.Interaction, button: discord.ui.Button[Any]
    ) -> None:
        if self._on_stop is not None:
            await self._on_stop(interaction)


def stop_template() -> StopView:
    """A view to attach to streaming messages; call inside the running loop."""
    view = StopView()
    view.stop()  # finished: discord.py will not keep it per message (see the module doc)
    return view
