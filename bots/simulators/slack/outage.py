"""Slack down for a while: every Web API call fails until the outage ends.

Two shapes, as a bot meets them (status.slack.com incidents are either):

- ``"5xx"``: Slack's edge answers ``503 Service Unavailable`` with an HTML page. slack-sdk
  reads no JSON from it and raises ``SlackApiError`` on the status
  (slack_sdk/web/async_internal_utils.py ``_request_with_session``: a non-JSON body is
  empty data; async_slack_response.py ``validate`` raises on a non-200 status);
- ``"unreachable"``: requests get no answer at all (a network partition): the call hangs
  until the client's own timeout (the ``aiohttp.ClientTimeout`` slack-sdk's session was
  given) raises ``TimeoutError``; the simulator answers the held request only when the
  outage ends, to a client that is gone.

Calls made during an outage are recorded (status 503, error ``service_unavailable``), so a
test can count the bot's retries.
"""

from __future__ import annotations

import asyncio
from typing import Literal

__all__ = ["Outage", "OutageKind"]

OutageKind = Literal["5xx", "unreachable"]


class Outage:
    """The simulator's outage switch (see the module docstring)."""

    def __init__(self) -> None:
        self.kind: OutageKind | None = None
        self._over = asyncio.Event()
        self._over.set()

    @property
    def active(self) -> bool:
        return self.kind is not None

    def start(self, kind: OutageKind = "5xx") -> None:
        self.kind = kind
        self._over.clear()

    def end(self) -> None:
        self.kind = None
        self._over.set()

    async def hold(self) -> None:
        """An unreachable Slack: wait (unanswered) until the outage ends."""
        await self._over.wait()
