"""The slack-sdk clients of one bot token, on pooled aiohttp sessions, closed together.

slack-sdk opens (and closes) a new HTTP session per call unless given one; a bot editing
dozens of messages a second must reuse connections, so each client gets a long-lived
session whose ``ClientTimeout`` bounds every call. The streaming client has no retry
handler (see :mod:`adapters.slack.api`); the other, for uploads and start-up checks, retries
connection errors and 429s itself, and gets a longer timeout for whole files.
"""

from __future__ import annotations

import math

import aiohttp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.api import SlackApi
from core.lifecycle import Lifecycle

__all__ = ["DEFAULT_API_URL", "SlackClients", "normalise_api_url"]

DEFAULT_API_URL = "https://slack.com/api/"
_POOL = 100  # concurrent connections per session: one per in-flight call


def normalise_api_url(url: str) -> str:
    """slack-sdk joins method names onto the base URL, which must end with a slash."""
    return url if url.endswith("/") else url + "/"


class SlackClients(Lifecycle):
    """``async with SlackClients(token, api_url=...) as clients``: ``client``, ``rare``, ``api``."""

    client: AsyncWebClient
    rare: AsyncWebClient
    api: SlackApi

    def __init__(
        self,
        token: str,
        *,
        api_url: str = DEFAULT_API_URL,
        timeout: float = 10.0,
        upload_timeout: float = 120.0,
    ) -> None:
        self.token = token
        self.api_url = normalise_api_url(api_url)
        self.timeout = timeout
        self.upload_timeout = upload_timeout
        self._sessions: list[aiohttp.ClientSession] = []

    async def start(self) -> None:
        self.client = AsyncWebClient(
            token=self.token,
            base_url=self.api_url,
            timeout=math.ceil(self.timeout),
            session=self._session(self.timeout),
            retry_handlers=[],
        )
        self.rare = AsyncWebClient(
            token=self.token,
            base_url=self.api_url,
            timeout=math.ceil(self.upload_timeout),
            session=self._session(self.upload_timeout),
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(),
                AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            ],
        )
        self.api = SlackApi(
            self.client, rare=self.rare, timeout=self.timeout, upload_timeout=self.upload_timeout
        )

    def _session(self, timeout: float) -> aiohttp.ClientSession:
        session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=timeout),
            connector=aiohttp.TCPConnector(limit=_POOL),
        )
        self._sessions.append(session)
        return session

    async def stop(self) -> None:
        for session in self._sessions:
            await session.close()
        self._sessions.clear()
