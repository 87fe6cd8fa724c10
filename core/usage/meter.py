"""Measuring one agent reply as it streams: characters out, time to first token, duration.

:func:`metered` wraps the agent's chunk iterator; the relay reads the wrapper exactly as it
would the agent's own stream. Per chunk it costs one length and one addition. Closing the
wrapper (a Stop, an interrupt) closes the agent's iterator, so its HTTP stream still ends
for real.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from core.models import AgentStream

__all__ = ["ReplyMeter", "metered"]


@dataclass(slots=True)
class ReplyMeter:
    """What one reply measured (seconds from ``clock``)."""

    started: float | None = None
    first_token: float | None = None
    ended: float | None = None
    chars_out: int = 0

    @property
    def agent_seconds(self) -> float:
        """From the request to the end of the stream (0 if it never started)."""
        if self.started is None:
            return 0.0
        return max(0.0, (self.ended or self.started) - self.started)

    @property
    def time_to_first_token(self) -> float | None:
        if self.started is None or self.first_token is None:
            return None
        return max(0.0, self.first_token - self.started)


async def metered(
    chunks: AsyncIterator[AgentStream],
    meter: ReplyMeter,
    clock: Callable[[], float] = time.monotonic,
) -> AsyncIterator[AgentStream]:
    """Yield ``chunks`` unchanged, recording into ``meter``."""
    meter.started = clock()
    try:
        async for chunk in chunks:
            if chunk.content:
                if meter.first_token is None:
                    meter.first_token = clock()
                meter.chars_out += len(chunk.content)
            yield chunk
    finally:
        meter.ended = clock()
        close = getattr(chunks, "aclose", None)
        if close is not None:
            await close()
