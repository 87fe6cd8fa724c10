"""Discord's typing indicator, kept on in a channel until the first text (or a clear).

A typing trigger shows "threadcast is typing…" for about 10 seconds, or until the bot
posts in that channel. So while the agent thinks, the indicator is re-triggered every
``every`` seconds (8: before the 10 s run out, with room for a slow request), from one task
per channel; posting or clearing the status ends it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["TypingIndicator"]

log = logging.getLogger(__name__)


class TypingIndicator:
    """One re-triggering task per channel that is "typing"."""

    def __init__(
        self,
        trigger: Callable[[int], Awaitable[None]],
        *,
        every: float = 8.0,
        max_duration: float = 600.0,
    ) -> None:
        self._trigger = trigger
        self._every = every
        # A status nobody clears (a bug elsewhere) must not type for ever.
        self._max_duration = max_duration
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def start(self, channel: int) -> None:
        task = self._tasks.get(channel)
        if task is None or task.done():
            self._tasks[channel] = asyncio.get_running_loop().create_task(
                self._run(channel), name=f"discord-typing-{channel}"
            )

    def clear(self, channel: int) -> None:
        task = self._tasks.pop(channel, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, channel: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._max_duration
        try:
            while loop.time() < deadline:
                try:
                    await self._trigger(channel)
                except Exception as exc:  # best effort: an indicator is not worth a failure
                    log.debug("typing indicator in %s failed: %r", channel, exc)
                await asyncio.sleep(self._every)
        finally:
            if self._tasks.get(channel) is asyncio.current_task():
                del self._tasks[channel]
