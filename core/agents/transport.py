"""HTTP plumbing shared by the HTTP agents (Lyzr, OpenAI-compatible).

Three jobs, all at the boundary with httpx:

- :func:`open_stream` sends the request and checks the status before any text flows,
  turning an error status into the error tree (:func:`status_error`);
  it follows the request through httpcore's trace hooks, so the first-token budget starts
  when the request is actually written, not while it waits for a pooled connection;
- :func:`read_lines` reads the body as lines under the first-token and idle budgets;
- :func:`transport_error` translates httpx exceptions, so agents never leak them.

The budgets count only the time spent *waiting for the server*: a consumer that takes its
time between chunks (a script printing slowly, a relay busy editing) must not make a
healthy stream look idle, and a request queued behind others for a connection has not
reached the agent yet.

Retries (:func:`is_retryable`): a request that may have reached the agent is never sent
again, since the agent may be running it (tools, credits, a turn in the session's memory).
Only failures before the request left are retried: refused, DNS, TLS, connect timeout, and
a 503 (the server refuses to handle requests for now: overload, maintenance, no healthy
backend). Not a 502 or a 504: by their definitions the gateway had passed the request on
(RFC 9110 §15.6.3 "received an invalid response from an inbound server it accessed",
§15.6.5 "did not receive a timely response from an upstream server"), so the agent may be
running it: a proxy's 60 s timeout while the agent runs its tools before its first byte is
a 504.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from core import texts
from core.agents.batching import READ_HOLD
from core.agents.netstream import AiohttpTransport, body_reader
from core.agents.silence import SilenceBudget
from core.agents.sse import LineDecoder
from core.config import Settings
from core.errors import (
    AgentAuthError,
    AgentCreditsError,
    AgentError,
    AgentForbiddenError,
    AgentNotFoundError,
    AgentProtocolError,
    AgentRateLimitedError,
    AgentRefusedError,
    AgentServerError,
    AgentTimeoutError,
)

__all__ = [
    "AgentBusyError",
    "AgentUnreachableError",
    "OpenedStream",
    "StreamTimeouts",
    "agent_http_client",
    "is_retryable",
    "open_stream",
    "read_lines",
    "status_error",
    "transport_error",
]

_ERROR_BODY_CAP = 64 * 1024
_DETAIL_CAP = 500


_REFUSALS = frozenset({503})  # handled by nobody yet (see the module docstring)


class AgentUnreachableError(AgentServerError):
    """The agent API could not be connected to (refused, DNS, TLS, connect timeout)."""

    notice = texts.AGENT_UNREACHABLE


class AgentBusyError(AgentError):
    """Every connection to the agent API stayed in use too long; the request was not sent.

    Not the agent's slowness: this process serves more replies at once than its
    ``AGENT_MAX_CONNECTIONS`` allows.
    """

    notice = texts.AGENT_BUSY


@dataclass(frozen=True, slots=True)
class StreamTimeouts:
    """Seconds allowed to connect, to get the first data line, and between data lines.

    Lyzr runs tools before and between tokens; its own clients wait 120 s (lyzr-kit) and
    300 s (lyzr-adk ``studio.py``) for a reply, hence the long defaults.
    """

    connect: float = 10.0
    first_token: float = 180.0
    idle: float = 120.0

    @classmethod
    def from_settings(cls, settings: Settings) -> StreamTimeouts:
        return cls(settings.connect_timeout, settings.first_token_timeout, settings.idle_timeout)

    def for_httpx(self) -> httpx.Timeout:
        # Reads are bounded by read_lines' own budgets, which exclude consumer time;
        # httpx's per-read timeout would count it, so it is off here. A wait for a pooled
        # connection may last as long as a first token would.
        return httpx.Timeout(
            connect=self.connect, read=None, write=self.connect, pool=self.first_token
        )


def agent_http_client(
    max_connections: int, *, verify: ssl.SSLContext | bool = True
) -> httpx.AsyncClient:
    """The client of an agent backend: one connection per reply streaming at once, through
    aiohttp's HTTP parser (:mod:`core.agents.netstream`: less CPU per chunk)."""
    return httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=max_connections, verify=verify)
    )


@dataclass(slots=True)
class OpenedStream:
    """A response whose status was OK, and how much of the first-token budget is left."""

    response: httpx.Response
    first_budget: float


def is_retryable(exc: AgentError) -> bool:
    """Only if the request provably never reached the agent (see the module docstring).

    A first-token timeout is not retryable: on Lyzr a slow start is usually tools running.
    A pool wait that ran out is not retried either: it already waited a first token's time.
    """
    if isinstance(exc, AgentUnreachableError):
        return True
    return isinstance(exc, AgentServerError) and exc.status in _REFUSALS


def transport_error(exc: httpx.HTTPError) -> AgentError:
    if isinstance(exc, httpx.PoolTimeout):
        return AgentBusyError(f"no free connection to the agent API ({type(exc).__name__})")
    if isinstance(exc, httpx.ConnectTimeout):
        return AgentUnreachableError(f"could not connect in time ({exc})")
    if isinstance(exc, httpx.TimeoutException):
        return AgentTimeoutError(f"{type(exc).__name__} ({exc})")
    if isinstance(exc, httpx.ConnectError):
        return AgentUnreachableError(str(exc) or type(exc).__name__)
    return AgentProtocolError(f"connection failed mid-reply ({type(exc).__name__}: {exc})")


def status_error(status: int, body: bytes, headers: httpx.Headers | None = None) -> AgentError:
    """The typed error for an HTTP error status, with the server's own ``detail``; a 503
    carries the wait the server named, as a rate limit does.

    A 429 is an exhausted quota (402 too; Lyzr's "out of credits"; OpenAI's
    ``insufficient_quota``) unless the server describes a rate limit: an OpenAI-style error
    ``code`` other than a quota's, or a wait (``retry-after-ms`` or ``retry-after``, in
    seconds, read as openai-python does: ``_parse_retry_after_header``,
    ``src/openai/_base_client.py``).
    """
    detail = f"HTTP {status}: {_detail(body)}".rstrip(": ")
    if status == 401:
        return AgentAuthError(detail, status=status)
    if status == 403:
        return AgentForbiddenError(detail, status=status)
    if status == 404:
        return AgentNotFoundError(detail, status=status)
    if status == 429:
        code, wait = _error_code(body), _retry_after(headers)
        if code not in _QUOTA_CODES and (code is not None or wait is not None):
            return AgentRateLimitedError(detail, status=status, retry_after=wait)
    if status in (402, 429):
        return AgentCreditsError(detail, status=status)
    if status in _REFUSALS:
        return AgentRefusedError(detail, status=status, retry_after=_retry_after(headers))
    return AgentServerError(detail, status=status)


_QUOTA_CODES = frozenset({"insufficient_quota"})


def _error_code(body: bytes) -> str | None:
    """OpenAI's ``error.code`` (or ``error.type``) of an error body, if it has one."""
    try:
        data: Any = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code") or error.get("type")
    return code if isinstance(code, str) else None


def _retry_after(headers: httpx.Headers | None) -> float | None:
    """Seconds to wait before trying again, as the server says (milliseconds first); a
    ``retry-after`` may also be an HTTP-date (RFC 9110 §10.2.3), the wait until then (none
    once it is past), as openai-python reads it (``email.utils.parsedate_tz``)."""
    if headers is None:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            if name == "retry-after" and (date := email.utils.parsedate_tz(value)) is not None:
                return max(0.0, email.utils.mktime_tz(date) - time.time())
            continue
        if seconds >= 0 and seconds != float("inf"):
            return seconds
    return None


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
    clock = _SendClock(asyncio.get_running_loop(), timeouts.first_token)
    request.extensions = {**request.extensions, "trace": clock.trace}
    try:
        # Waiting for the headers counts against the first-token budget: a server that
        # accepts the connection and then says nothing is as stuck as one that never streams.
        # The budget starts once the request is written (the pool and connect phases have
        # httpx's own timeouts), so a queue for a connection is not the agent's slowness.
        async with asyncio.timeout(clock.backstop(timeouts)) as deadline:
            clock.deadline = deadline
            response = await client.send(request, stream=True)
    except TimeoutError:
        raise AgentTimeoutError(f"no response within {timeouts.first_token:g}s") from None
    except httpx.HTTPError as exc:
        raise transport_error(exc) from exc
    try:
        if response.status_code >= 400:
            body = await _error_body(response, timeouts)
            raise status_error(response.status_code, body, response.headers)
        yield OpenedStream(response, clock.left())
    finally:
        await response.aclose()


class _SendClock:
    """Starts the first-token budget when httpcore begins writing the request."""

    def __init__(self, loop: asyncio.AbstractEventLoop, budget: float) -> None:
        self._loop = loop
        self._budget = budget
        self._created = loop.time()
        self.sent_at: float | None = None
        self.deadline: asyncio.Timeout | None = None

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        # "http11.send_request_headers.started" (or http2): the request is leaving now.
        if self.sent_at is None and event.endswith("send_request_headers.started"):
            self.sent_at = self._loop.time()
            if self.deadline is not None:
                self.deadline.reschedule(self.sent_at + self._budget)

    def backstop(self, timeouts: StreamTimeouts) -> float:
        """The deadline until the request is written: a pool wait, a connect, a first token."""
        return self._created + 2 * self._budget + timeouts.connect

    def left(self) -> float:
        """What remains of the first-token budget (all of it counted from creation if the
        transport gave no trace, as a test transport may not)."""
        start = self.sent_at if self.sent_at is not None else self._created
        return max(0.0, self._budget - (self._loop.time() - start))


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


async def read_lines(opened: OpenedStream, timeouts: StreamTimeouts) -> AsyncIterator[list[str]]:
    """The body's lines, as each network read completes them (a list per read: one item per
    read on the per-chunk path, not one per line); raises AgentTimeoutError when the server
    goes quiet too long.

    Only ``data:`` lines count as progress: blank separators or keep-alive comments do not
    reset the idle budget, since the user would still see nothing.
    """
    decoder = LineDecoder()
    read, hold, close = _reader(opened.response)
    held = READ_HOLD.get()
    silence = SilenceBudget(opened.first_budget)
    failure = f"no first token within {timeouts.first_token:g}s"
    pending = 0.0  # of a hold: seconds before the socket is read again (not the server's)
    try:
        while True:
            silence.waiting(after=pending)
            try:
                block = await read()
            except asyncio.CancelledError:
                if silence.expired():
                    raise AgentTimeoutError(failure) from None
                raise
            except httpx.HTTPError as exc:
                raise transport_error(exc) from exc
            finally:
                silence.done_waiting()
            if not block:
                break
            lines = decoder.feed(block)
            if not lines:
                continue
            for line in lines:
                if line.startswith("data"):
                    silence.progress(timeouts.idle)
                    failure = f"no new token for {timeouts.idle:g}s"
                    break
            yield lines
            pending = 0.0
            if held is not None and (seconds := held()) > 0:
                pending = await hold(seconds)  # the next read takes what gathered meanwhile
    finally:
        silence.close()
        if close is not None:
            await close()
    lines = decoder.flush()
    if lines:
        yield lines


def _reader(
    response: httpx.Response,
) -> tuple[
    Callable[[], Awaitable[bytes]],
    Callable[[float], Awaitable[float]],
    Callable[[], Awaitable[None]] | None,
]:
    """The next block of the body (``b""`` at its end), a wait that leaves the socket
    unread (:mod:`core.agents.batching`; it returns the part of the wait it left to the
    next read), and what closes the reading.

    A body from the agents' transport that needs no decoding is read straight from it
    (:func:`~core.agents.netstream.body_reader`: no httpx layers per chunk); any other goes
    through httpx's ``aiter_bytes``, which decodes ``Content-Encoding`` (its wait is a
    sleep: the transport below keeps reading, the next read still takes what gathered).
    """
    direct = body_reader(response)
    if direct is not None:
        return direct.read, direct.hold, None
    blocks = response.aiter_bytes()

    async def read() -> bytes:
        return await anext(blocks, b"")

    async def hold(seconds: float) -> float:
        await asyncio.sleep(seconds)
        return 0.0

    return read, hold, getattr(blocks, "aclose", None)  # closed with us
