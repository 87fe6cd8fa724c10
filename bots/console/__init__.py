"""``threadcast chat`` and ``threadcast ask``: the agent in a terminal, no platform needed."""

from __future__ import annotations

from bots.console.ask import run_ask
from bots.console.chat import run_chat

__all__ = ["run_ask", "run_chat"]
