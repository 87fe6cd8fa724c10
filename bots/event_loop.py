"""Which event loop a command runs on: uvloop for the services where it is installed.

Why: a service's CPU per streamed reply is partly the event loop's own machinery (reading
sockets, scheduling callbacks, the selector); uvloop does that in C on libuv (tests/bench/README.md,
"CPU per streamed reply"). The console commands (``chat``, ``ask``, ``usage``, ``playground``) keep
asyncio's loop: they serve one person and start faster without another import.

``THREADCAST_EVENT_LOOP``: ``auto`` (the default: uvloop when it imports, asyncio's loop
otherwise, e.g. on Windows, which uvloop does not support), ``uvloop`` (a configuration
error when it is missing) or ``asyncio``.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from core.errors import ConfigError

if TYPE_CHECKING:
    from core.config import EventLoop

__all__ = ["SERVICES", "loop_factory"]

SERVICES = frozenset({"slack", "discord"})
"""The commands that run on the configured loop."""

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def loop_factory(command: str, choice: EventLoop) -> LoopFactory | None:
    """The factory ``asyncio.Runner`` makes ``command``'s loop with; ``None``: asyncio's."""
    if command not in SERVICES or choice == "asyncio":
        return None
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError as exc:
        if choice == "uvloop":
            raise ConfigError(
                "THREADCAST_EVENT_LOOP",
                "uvloop is not installed (pip install uvloop; not available on Windows)",
            ) from exc
        return None
    factory: LoopFactory = uvloop.new_event_loop
    return factory
