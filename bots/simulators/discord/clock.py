"""The simulator's clock: the running loop's time (fake under looptime) plus whatever time a
test skipped ahead with :meth:`SimClock.advance`.

Everything in the simulator that depends on time reads it here: rate-limit windows, the
3-second interaction deadline, and the age of messages (Discord limits edits of messages
older than an hour). Skipping ahead is how a test makes a message an hour old in no time.
"""

from __future__ import annotations

import asyncio

__all__ = ["SimClock"]


class SimClock:
    """Loop time plus an offset that only grows."""

    def __init__(self) -> None:
        self.skipped = 0.0

    def now(self) -> float:
        return asyncio.get_running_loop().time() + self.skipped

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for the simulator at once (the client's clock is untouched)."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self.skipped += seconds
