"""POST each vote to ``THREADCAST_FEEDBACK_URL``, in the background, retried with backoff.

The bot never waits for the webhook: :meth:`FeedbackWebhook.send` queues the JSON body and
returns. One worker task posts them in order; a connection failure, a timeout, a 429 or a
5xx is retried after 1, 2, 4... seconds (``Retry-After`` honoured, capped), up to
``attempts`` tries; a 4xx other than 429 is the receiver refusing the body and is not
retried. Each try is bounded by ``timeout`` as a whole (httpx's own timeouts are per read,
so a receiver trickling its answer would hold the worker for ever). A full backlog (the
receiver down for long) drops the oldest vote still waiting (never the one being posted)
with a warning rather than grow without bound. Any other failure (a body JSON cannot
encode, ``httpx.InvalidURL``, which is not an ``httpx.HTTPError``) drops that one vote,
logged with its traceback, and the worker goes on: it used to end the worker, which then
retried the same body, and failed, on every later vote. On close, what is queued gets
``drain`` seconds; what is still queued then (or waiting for its next try), or sent after,
is dropped with a warning. A vote whose POST is on the wire then is cut off, but the
receiver may have it (it may even have answered): it is counted apart, ``unconfirmed``,
with a line saying so, not as a ``shutdown`` drop, which would tell the operator it is
surely missing.

Every vote ends once, in ``delivered`` or in ``dropped_by[reason]`` (gave_up, refused,
overflow, shutdown, unconfirmed, error), and in the same Prometheus counter
(:func:`core.ops.metrics.webhook_delivered`, :func:`~core.ops.metrics.webhook_dropped`),
so an operator sees what never reached the receiver, and why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any, Literal

import httpx

from core.ops import metrics
from core.ops.metrics import WebhookDrop

__all__ = ["FeedbackWebhook"]

log = logging.getLogger(__name__)

_MAX_DELAY = 60.0

# How one vote's posting ended; anything but ``delivered`` is a drop of that reason.
_Outcome = Literal["delivered", "gave_up", "refused"]


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
        backlog: int = 1_000,
    ) -> None:
        self.url = url
        self._client = client
        self._attempts = attempts
        self._backoff = backoff
        self._timeout = timeout
        self._drain = drain
        self._backlog = backlog
        self._queue: deque[dict[str, Any]] = deque()  # waiting; not the one being posted
        self._sending: dict[str, Any] | None = None
        self._posting = False  # ``_sending`` is on the wire (not waiting for its next try)
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._worker: asyncio.Task[None] | None = None
        self._closed = False  # aclose() began: a later send would start a worker never closed
        self.delivered = 0
        self.dropped_by: dict[WebhookDrop, int] = {}

    @property
    def dropped(self) -> int:
        """Votes that will never be delivered, whatever the reason."""
        return sum(self.dropped_by.values())

    def send(self, body: dict[str, Any]) -> None:
        """Queue ``body``; never blocks, never raises."""
        if self._closed:  # a vote clicked while the bot shuts down: no worker to post it
            self._drop("shutdown")
            log.warning("feedback webhook closed: a vote sent after it was dropped")
            return
        if len(self._queue) >= self._backlog:
            self._queue.popleft()
            self._drop("overflow")
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
                # Out of the queue while posted: an overflow meanwhile drops a waiting vote,
                # not this one (which would then be counted twice).
                self._sending = body = self._queue.popleft()
                outcome: _Outcome | Literal["error"]
                try:
                    outcome = await self._deliver(body)
                except Exception:  # a bug or a bad setting: not retried, it would fail again
                    outcome = "error"
                    log.exception("feedback webhook could not send a vote: vote dropped")
                self._sending = None
                if outcome == "delivered":
                    self.delivered += 1
                    metrics.webhook_delivered()
                else:
                    self._drop(outcome)
            self._ready.clear()
            self._idle.set()

    def _drop(self, reason: WebhookDrop, votes: int = 1) -> None:
        self.dropped_by[reason] = self.dropped_by.get(reason, 0) + votes
        metrics.webhook_dropped(reason, votes)

    async def _deliver(self, body: dict[str, Any]) -> _Outcome:
        delay = self._backoff
        for attempt in range(1, self._attempts + 1):
            wait = delay
            try:
                response = await self._post(body)
            except httpx.HTTPError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            except TimeoutError:
                problem = f"no answer within {self._timeout:g}s"
            else:
                status = response.status_code
                if status < 300:
                    return "delivered"
                if 400 <= status < 500 and status != 429:
                    log.warning(
                        "feedback webhook refused a vote (HTTP %d): not retried, vote dropped",
                        status,
                    )
                    return "refused"
                problem = f"HTTP {status}"
                wait = max(delay, _retry_after(response))
            if attempt == self._attempts:
                log.warning("feedback webhook failed %d times (%s): vote dropped", attempt,
                            problem)  # fmt: skip
                return "gave_up"
            log.info("feedback webhook: %s; retrying in %.1fs", problem, wait)
            await asyncio.sleep(min(wait, _MAX_DELAY))
            delay *= 2
        return "gave_up"  # only with attempts < 1: no try at all

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        """One try, bounded as a whole; ``_posting`` while it is on the wire."""
        self._posting = True
        try:
            async with asyncio.timeout(self._timeout):
                return await self._client.post(self.url, json=body, timeout=self._timeout)
        finally:
            self._posting = False

    async def aclose(self) -> None:
        self._closed = True
        worker = self._worker
        if worker is None:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._drain):
                await self._idle.wait()
        # Read before the cancel, which runs the worker's ``finally`` (the flag reset).
        on_the_wire = self._sending is not None and self._posting
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker
        if on_the_wire:
            self._drop("unconfirmed")
            log.warning("feedback webhook closed while posting a vote: the receiver may have "
                        "it (unconfirmed)")  # fmt: skip
        # The receiver still down (or slow) when the drain ran out: the vote waiting to be
        # retried, if any, and those behind it.
        left = len(self._queue) + (self._sending is not None and not on_the_wire)
        self._queue.clear()
        self._sending = None
        if left:
            self._drop("shutdown", left)
            log.warning("feedback webhook closed with %d vote(s) not delivered: dropped", left)


def _retry_after(response: httpx.Response) -> float:
    try:
        return float(response.headers.get("Retry-After", 0))
    except ValueError:
        return 0.0
