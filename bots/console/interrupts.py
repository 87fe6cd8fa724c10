"""Signals at the console: Ctrl-C stops the reply, a closed terminal ends the command.

- SIGINT (Ctrl-C): ``interrupt`` — the commands stop the streaming reply (its text is
  kept, with a "stopped" notice), a second Ctrl-C abandons it, and at chat's prompt it
  quits. The embedded Redis never sees it: it runs in a session of its own
  (:mod:`core.sessions.embedded`).
- SIGHUP (the terminal was closed) and SIGTERM: ``terminate`` — the running turn is
  cancelled (the relay still finalises it) and the command ends, so its Redis lease and
  conversation lock are released at once rather than when they expire.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

from bots.signals import handling_signals

__all__ = ["routed_signals"]


@contextlib.contextmanager
def routed_signals(
    *, interrupt: Callable[[], None], terminate: Callable[[int], None]
) -> Iterator[None]:
    """Route SIGINT to ``interrupt`` and SIGHUP/SIGTERM to ``terminate(signum)``."""
    with handling_signals(
        {
            signal.SIGINT: interrupt,
            signal.SIGHUP: lambda: terminate(signal.SIGHUP),
            signal.SIGTERM: lambda: terminate(signal.SIGTERM),
        }
    ):
        yield
