"""Lines typed (or piped) into the console, read without blocking the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

__all__ = ["StdinLines"]


class StdinLines:
    """Lines from stdin, read by a daemon thread so a pending read never blocks exit."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, name="stdin-reader", daemon=True).start()

    def _read(self) -> None:
        try:
            for line in sys.stdin:
                self._put(line.rstrip("\n"))
        except (OSError, ValueError):
            pass  # the terminal went away (EIO) or stdin was closed: that is the end
        self._put(None)

    def _put(self, line: str | None) -> None:
        # The loop may be gone already (the command ended before stdin did).
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line)

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def next(self) -> str | None:
        """The next line, or None at the end of input (or after :meth:`close`)."""
        return await self._queue.get()
