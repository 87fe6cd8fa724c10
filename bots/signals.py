"""Signal handlers on the running event loop for the length of a ``with`` block.

The commands (``chat``, ``ask``, ``playground``) each say which signal does what; this is
the one place that installs the handlers and takes them off again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping

__all__ = ["handling_signals"]


@contextlib.contextmanager
def handling_signals(routes: Mapping[signal.Signals, Callable[[], None]]) -> Iterator[None]:
    """Inside the block, ``routes[signum]()`` runs on the loop when the process gets
    ``signum``; afterwards the previous behaviour is back."""
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    for signum, action in routes.items():
        # Not the main thread, or not a Unix loop: keep the default behaviour.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, action)
            installed.append(signum)
    try:
        yield
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
