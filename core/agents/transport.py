"""HTTP plumbing shared by the HTTP agents (Lyzr, OpenAI-compatible).

Three jobs, all at the boundary with httpx:

- :func:`open_stream` sends the request and checks the status before any text flows,
  turning an error status into the error tree (:func:`status_error`);
- :func:`read_lines` reads the body as lines under the first-token and idle budgets;
- :func:`transport_error` translates httpx exceptions, so agents never leak them.

The budgets count only the time spent *waiting for the server*: a consumer that takes its
time between chunks (a script printing slowly, a relay busy editing) must not make a
healthy stream look idle.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from core.agents.sse import LineDecoder
from core.config import Settings
from core.errors import (
    AgentAuthError,
    AgentCreditsError,
    AgentError,
    AgentNotFoundError,
    AgentProtocolError,
    AgentServerError,
    AgentTimeoutError,
)

__all__ = [
    "AgentUnreachableError",
    "OpenedStream",
    "StreamTimeouts",
    "is_retryable",
    "open_stream",
    "read_lines",
    "status_error",
    "transport_error",
]

_ERROR_BODY_CAP = 64 * 1024
_DETAIL_CAP = 500


class AgentUnreachableError(AgentServerError):
    """The agent API could not be connected to (refused, DNS, TLS)."""

    notice = "The agent API could not be reached."


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    """Seconds allowed to connect, to get the first data line, and between data lines."""

    connect: float = 10.0
    first_token: float = 60.0
    idle: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamTimeouts:
        return cls(settings.connect_timeout, settings.first_token_timeout, settings.idle_timeout)

    def for_httpx(self) -> httpx.Timeout:
        # Reads are bounded by read_lines' own budgets, which exclude consumer time;
        # httpx's per-read timeout would count it, so it is off here.
        return httpx.Timeout(connect=self.connect, read=None, write=self.connect, pool=self.connect)


@dataclass(slots=True)
class OpenedStream:
    """A response whose status was OK, and how much of the first-token budget is left."""

    response: httpx.Response
    first_budget: float


def is_retryable(exc: AgentError) -> bool:
    """Worth another attempt if no text was produced yet: timeouts, unreachable, HTTP 5xx."""
    if isinstance(exc, AgentTimeoutError | AgentUnreachableError):
        return True
    return isinstance(exc, AgentServerError) and exc.status is not None and exc.status >= 500


def transport_error(exc: httpx.HTTPError) -> AgentError:
    if isinstance(exc, httpx.ConnectTimeout):
        return AgentTimeoutError(f"could not connect in time ({exc})")
    if isinstance(exc, httpx.TimeoutException):
        return AgentTimeoutError(f"{type(exc).__name__} ({exc})")
    if isinstance(exc, httpx.ConnectError):
        return AgentUnreachableError(str(exc) or type(exc).__name__)
    return AgentProtocolError(f"connection failed mid-reply ({type(exc).__name__}: {exc})")


def status_error(status: int, body: bytes) -> AgentError:
    """The typed error for an HTTP error status, with the server's own ``detail``."""
    detail = f"HTTP {status}: {_detail(body)}".rstrip(": ")
    if status in (401, 403):
        return AgentAuthError(detail, status=status)
    if status == 404:
        return AgentNotFoundError(detail, status=status)
    if status in (402, 429):
        return AgentCreditsError(detail, status=status)
    return AgentServerError(detail, status=status)


def _detail(body: bytes) -> str:
    """``{"detail": ...}`` (Lyzr, FastAPI), ``{"error": {"message": ...}}`` (OpenAI), or text."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data: Any = json.loads(text)
    except ValueError:
        return text[:_DETAIL_CAP]
    if isinstance(data, dict):
        for key in ("detail", "error", "message"):
            if key in data:
                data = data[key]
                break
        if isinstance(data, dict) and "message" in data:
            data = data["message"]
    found = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return found[:_DETAIL_CAP]


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, request: httpx.Request, timeouts: StreamTimeouts
) -> AsyncIterator[OpenedStream]:
    """Send ``request`` streamed; raise the typed error for a failure before the body."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        # Waiting for the headers counts against the first-token budget: a server that
        # accepts the connection and then says nothing is as stuck as one that never streams.
        async with asyncio.timeout(timeouts.first_token):
            response = await client.send(request, stream=True)
    except TimeoutError:
        raise AgentTimeoutError(f"no response within {timeouts.first_token:g}s") from None
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    try:
        if response.status_code >= 400:
            raise status_error(response.status_code, await _error_body(response, timeouts))
        spent = loop.time() - started
        yield OpenedStream(response, max(0.0, timeouts.first_token - spent))
    finally:
        await response.aclose()


async def _error_body(response: httpx.Response, timeouts: StreamTimeouts) -> bytes:
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeouts.idle):
            async for block in response.aiter_bytes():
                parts.append(block)
                size += len(block)
                if size >= _ERROR_BODY_CAP:
                    break
    except (TimeoutError, httpx.HTTPError):
        pass  # the status alone still says what went wrong
    return b"".join(parts)[:_ERROR_BODY_CAP]


async def read_lines(opened: OpenedStream, timeouts: StreamTimeouts) -> AsyncIterator[str]:
    """The body's lines; raises AgentTimeoutError when the server goes quiet too long.

    Only ``data:`` lines count as progress: blank separators or keep-alive comments do not
    reset the idle budget, since the user would still see nothing.
    """
    loop = asyncio.get_running_loop()
    decoder = LineDecoder()
    blocks = opened.response.aiter_bytes()
    budget = opened.first_budget
    failure = f"no first token within {timeouts.first_token:g}s"
    waited = 0.0
    try:
        while True:
            began = loop.time()
            try:
                async with asyncio.timeout(max(0.0, budget - waited)):
                    block = await anext(blocks, None)
            except TimeoutError:
                raise AgentTimeoutError(failure) from None
            except httpx.HTTPError as exc:
                raise transport_error(exc) from exc
            waited += loop.time() - began
            if block is None:
                break
            for line in decoder.feed(block):
                if line.startswith("data"):
                    budget, waited = timeouts.idle, 0.0
                    failure = f"no new token for {timeouts.idle:g}s"
                yield line
    finally:
        close = getattr(blocks, "aclose", None)  # an async generator; close it with us
        if close is not None:
            await close()
    for line in decoder.flush():
        yield line
