"""HTTP mode: POSTing signed requests to the app's Request URL, and retrying them.

Slack signs each request: ``X-Slack-Request-Timestamp`` (Unix seconds, wall clock, since
the app checks it against its own clock) and ``X-Slack-Signature`` = ``v0=`` + hex
HMAC-SHA256 of ``v0:{timestamp}:{raw body}`` keyed by the signing secret. An event not
acknowledged (any 2xx) within 3 s is retried with ``X-Slack-Retry-Num`` /
``X-Slack-Retry-Reason`` (``http_timeout``, ``http_error``, ``connection_failed``) on the
configured schedule, unless the app answered with ``X-Slack-No-Retry: 1``. Interactive
payloads are never retried.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
from multidict import CIMultiDict

__all__ = ["Attempt", "HttpDeliverer", "HttpDelivery", "sign"]


def sign(body: bytes, secret: str, timestamp: int) -> dict[str, str]:
    """The two signature headers of a request body."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass
class Attempt:
    retry_num: int
    retry_reason: str | None
    status: int | None  # None: timed out or could not connect
    body: str
    headers: CIMultiDict[str]
    failure: str | None  # why Slack would retry: http_timeout, http_error, connection_failed
    time: float

    @property
    def acked(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass
class HttpDelivery:
    url: str
    body: bytes
    content_type: str
    event_id: str | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return any(a.acked for a in self.attempts)

    @property
    def last(self) -> Attempt:
        return self.attempts[-1]


class HttpDeliverer:
    def __init__(
        self,
        *,
        signing_secret: str,
        ack_timeout: float,
        retry_delays: tuple[float, ...],
        clock: Callable[[], float],
        on_attempt: Callable[[], None],
    ) -> None:
        self.signing_secret = signing_secret
        self.ack_timeout = ack_timeout
        self.retry_delays = retry_delays
        self.clock = clock
        self._on_attempt = on_attempt
        self.deliveries: list[HttpDelivery] = []
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def deliver(self, delivery: HttpDelivery, *, retries: bool = True) -> HttpDelivery:
        """First attempt, then Slack's retries until acknowledged or out of retries."""
        await self.attempt(delivery)
        if retries:
            await self.retry(delivery)
        return delivery

    async def retry(self, delivery: HttpDelivery) -> None:
        """Slack's retry schedule after a first attempt that was not acknowledged."""
        for delay in self.retry_delays:
            attempt = delivery.last
            if attempt.acked or attempt.headers.get("X-Slack-No-Retry") == "1":
                return
            await asyncio.sleep(delay)
            await self.attempt(delivery, retry_reason=attempt.failure)

    async def attempt(
        self,
        delivery: HttpDelivery,
        *,
        retry_reason: str | None = None,
        secret: str | None = None,
        timestamp: int | None = None,
        url: str | None = None,
    ) -> Attempt:
        """One signed POST; every attempt after the first is sent as a retry.

        ``url`` sends this attempt elsewhere, as a load balancer may route a retry to
        another replica of the app.
        """
        if not delivery.attempts:
            self.deliveries.append(delivery)
        retry_num = len(delivery.attempts)
        headers = {"Content-Type": delivery.content_type, "User-Agent": "Slackbot 1.0"}
        headers |= sign(
            delivery.body,
            secret if secret is not None else self.signing_secret,
            timestamp if timestamp is not None else int(time.time()),
        )
        if retry_num > 0:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        started = self.clock()
        status, text, response_headers, failure = await self._post(
            url or delivery.url, delivery.body, headers
        )
        attempt = Attempt(
            retry_num=retry_num,
            retry_reason=headers.get("X-Slack-Retry-Reason"),
            status=status,
            body=text,
            headers=response_headers,
            failure=failure,
            time=started,
        )
        delivery.attempts.append(attempt)
        self._on_attempt()
        return attempt

    async def _post(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[int | None, str, CIMultiDict[str], str | None]:
        if self._session is None:
            # No pool cap of the simulator's own: Slack limits deliveries per workspace per
            # hour (30,000 events: docs.slack.dev/reference/events/app_rate_limited), not how
            # many are in flight. aiohttp's default pool (100 connections) held the rest in
            # this process, and the ack timeout below counted that wait: a burst of events
            # timed out before it was sent (1,000 mentions across 10 apps: most never left).
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        # The app must answer within ack_timeout, as on Slack; later is a failed delivery.
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        try:
            async with self._session.post(url, data=body, headers=headers, timeout=timeout) as r:
                text = await r.text()
                failure = None if 200 <= r.status < 300 else "http_error"
                return r.status, text, CIMultiDict(r.headers), failure
        except TimeoutError:
            return None, "", CIMultiDict(), "http_timeout"
        except aiohttp.ClientError:
            return None, "", CIMultiDict(), "connection_failed"
