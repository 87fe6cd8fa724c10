"""Native streams waiting for ``chat.stopStream``, stopped one at a time at Slack's pace.

``chat.stopStream`` is Tier 2 (20+ per minute per workspace). When many replies end
together, their stops would meet a wall of 429s; the text itself never waits for them (the
rest of each reply is appended at once), only the end of the streaming state does. After a
first 429, stops queue here and one worker sends them ``interval`` seconds apart, honouring
Retry-After, so a congestion episode costs one 429, not one per reply. A stream whose stop
never gets through simply expires on Slack's side, its text complete (and without the
feedback controls its stop was to add).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from adapters.slack.api import SlackApi
from adapters.slack.final_mark import final_mark
from core.errors import RateLimited, SurfaceError
from core.surface import MessageRef

__all__ = ["StopQueue"]

log = logging.getLogger(__name__)


class StopQueue:
    """Pending stops of one surface (see the module docstring)."""

    def __init__(self, api: SlackApi, *, interval: float) -> None:
        self._api = api
        self._interval = interval  # seconds between two stops: the Tier 2 pace
        # (stream, scope, blocks its stop adds: the feedback controls, if any)
        self._pending: deque[tuple[MessageRef, str, list[dict[str, Any]] | None]] = deque()
        self._not_before = 0.0  # loop time before which no stop is sent
        self._worker: asyncio.Task[None] | None = None

    @property
    def busy(self) -> bool:
        """Whether a stop sent now would likely meet a 429 (stops are queued or paused)."""
        return bool(self._pending) or asyncio.get_running_loop().time() < self._not_before

    def __len__(self) -> int:
        return len(self._pending)

    def add(
        self,
        message: MessageRef,
        scope: str,
        *,
        retry_after: float = 0.0,
        blocks: list[dict[str, Any]] | None = None,
    ) -> None:
        loop = asyncio.get_running_loop()
        self._pending.append((message, scope, blocks))
        self._not_before = max(self._not_before, loop.time() + retry_after)
        if self._worker is None or self._worker.done():
            self._worker = loop.create_task(self._run(), name="slack-stream-stops")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            await asyncio.sleep(max(0.0, self._not_before - loop.time()))
            message, scope, blocks = self._pending[0]
            try:
                await self._api.stop_stream(  # a reply's final stop: it leaves the mark
                    message.where.channel, message.message_id, "", scope=scope,
                    metadata=final_mark(), blocks=blocks,
                )  # fmt: skip
            except RateLimited as limited:
                self._not_before = loop.time() + max(limited.retry_after, self._interval)
                continue  # the same stream again, after Retry-After
            except SurfaceError as exc:  # expired, deleted...: nothing left to stop
                log.debug("deferred stop of %s: %s", message.message_id, exc)
            self._pending.popleft()
            self._not_before = loop.time() + self._interval

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        if self._pending:
            log.info("%d streams left to expire on their own", len(self._pending))
