"""POST each vote to ``THREADCAST_FEEDBACK_URL``, in the background, retried with backoff.

The bot never waits for the webhook: :meth:`FeedbackWebhook.send` queues the JSON body and
returns. One worker task posts them in order; a connection failure, a timeout, a 429 or a
5xx is retried after 1, 2, 4... seconds (``Retry-After`` honoured, capped), up to
``attempts`` tries; a 4xx other than 429 is the receiver refusing the body and is not
retried. Each try is bounded by ``timeout`` as a whole (httpx's own timeouts are per read,
so a receiver trickling its answer would hold the worker for ever). A full queue (the
receiver down for long) drops the oldest body with a warning rather than grow without bound.
Any other failure (a body JSON cannot encode, ``httpx.InvalidURL``, which is not an
``httpx.HTTPError``) drops that one vote, counted in ``dropped`` and logged with its
traceback, and the worker goes on: it used to end the worker, which then retried the same
body, and failed, on every later vote. On close, what is queued gets ``drain`` seconds; what
is still queued then is dropped, counted in ``dropped`` and logged as a warning.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import httpx

__all__ = ["FeedbackWebhook"]

log = logging.getLogger(__name__)

_MAX_QUEUED = 1_000
_MAX_DELAY = 60.0


class FeedbackWebhook:
    """See the module docstring."""

    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        *,
        attempts: int = 5,
        backoff: float = 1.0,
        timeout: float = 10.0,
        drain: float = 5.0,
    ) -> None:
        self.url = url
        self._client = client
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self._drain = drain
        self._queue: deque[dict[str, Any]] = deque()
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self.delivered = 0
        self.dropped = 0

    def send(self, body: dict[str, Any]) -> None:
        """Queue ``body``; never blocks, never raises."""
        if len(self._queue) >= _MAX_QUEUED:
            self._queue.popleft()
            self.dropped += 1
            log.warning("feedback webhook backlog full: the oldest vote was dropped")
        self._queue.append(body)
        self._idle.clear()
        self._ready.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._run(), name="feedback-webhook")

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            while self._queue:
                body = self._queue[0]
                try:
                    await self._deliver(body)
                except Exception:  # a bug or a bad setting: not retried, it would fail again
                    self.dropped += 1
                    log.exception("feedback webhook could not send a vote: vote dropped")
                if self._queue and self._queue[0] is body:
                    self._queue.popleft()
            self._ready.clear()
            self._idle.set()

    async def _deliver(self, body: dict[str, Any]) -> None:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            wait = delay
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._client.post(self.url, json=body, timeout=self._timeout)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except TimeoutError:
                problem = f"no answer within {self._timeout:g}s"
            else:
                status = response.status_code
                if status < 300:
                    self.delivered += 1
                    return
                if 400 <= status < 500 and status != 429:
                    log.warning("feedback webhook refused a vote (HTTP %d): not retried", status)
                    return
                problem = f"HTTP {status}"
                wait = max(delay, _retry_after(response))
            if attempt == self._attempts:
                log.warning("feedback webhook failed %d times (%s): vote dropped", attempt,
                            problem)  # fmt: skip
                return
            log.info("feedback webhook: %s; retrying in %.1fs", problem, wait)
            await asyncio.sleep(min(wait, _MAX_DELAY))
            delay *= 2

    async def aclose(self) -> None:
        worker = self._worker
        if worker is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._drain):
                await self._idle.wait()
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        if self._queue:  # the receiver still down (or slow) when the drain ran out
            left = len(self._queue)
            self._queue.clear()
            self.dropped += left
            log.warning("feedback webhook closed with %d vote(s) not delivered: dropped", left)


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0
