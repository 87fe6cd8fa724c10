"""Which event loop a command runs on: uvloop for the long-running services, where the
per-chunk cost of streaming is paid (socket reads, timers, callbacks; measured in the
README's "CPU per streamed reply"), the standard loop elsewhere and when asked for.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable

from core.config import Settings

__all__ = ["SERVICES", "loop_factory"]

SERVICES = frozenset({"slack", "discord"})

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(
    settings: Settings, command: str
) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The factory for ``asyncio.Runner``; ``None`` is the standard loop.

    ``THREADCAST_EVENT_LOOP=uvloop`` without uvloop installed fails at start, loudly, rather
    than running slower than configured.
    """
    choice = settings.event_loop
    if command not in SERVICES or choice == "asyncio":
        return None
    if choice == "auto" and importlib.util.find_spec("uvloop") is None:
        return None
    import uvloop

    return uvloop.new_event_loop
