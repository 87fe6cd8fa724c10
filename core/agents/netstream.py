"""httpx's transport for the agents' client, on aiohttp's HTTP/1.1 client.

Why: an agent streams 20 small chunks per second per reply. httpx's own transport parses
each one in Python (httpcore and h11: chunked decoding, an event state machine, about eight
layers of async generators); aiohttp parses HTTP in C (llhttp, chunked decoding included) and
hands the body over through one buffer: a third to a half less of the agent client's CPU
per chunk (tests/bench/README.md, "CPU per streamed reply"). aiohttp is already a dependency (the
bots' HTTP endpoints, discord.py).

The agent clients keep httpx's API: requests, streamed responses, and httpx's exceptions,
which :func:`_httpx_error` translates aiohttp's into at this boundary, so the error mapping
of :mod:`core.agents.transport` does not know aiohttp. Redirects, cookies and content
decoding stay httpx's (aiohttp is told to do none of them). No proxy, as before: an httpx
client given a transport does not read the proxy environment, and neither does this one.

httpx's per-request timeouts are kept, each as a bound on one phase:

- ``pool``: waiting for a free connection (``max_connections`` are in use) →
  :class:`httpx.PoolTimeout`;
- ``connect``: DNS, TCP and TLS → :class:`httpx.ConnectTimeout`;
- ``write`` + ``read``: from a connection to the response's headers (aiohttp has no write
  timeout; a request body is written in that time or the reply never starts) →
  :class:`httpx.WriteTimeout` before the headers went out, else :class:`httpx.ReadTimeout`;
- ``read``: between two reads of the body (aiohttp's ``sock_read``) → :class:`httpx.ReadTimeout`.

A phase whose timeout is ``None`` is not bounded here (the streams' reads: their callers
bound them, see :mod:`core.agents.silence`). httpcore's ``send_request_headers.started``
trace event is sent when the request gets its connection, so the first-token budget
(:func:`core.agents.transport.open_stream`) does not count a queue for a connection.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from types import SimpleNamespace
from typing import Any, cast

import aiohttp
import httpx
from aiohttp.connector import Connection
from yarl import URL

__all__ = ["HIGH_WATER", "AiohttpTransport", "body_reader"]

HIGH_WATER = 256 * 1024
"""Bytes received and not yet read before the socket stops being read (aiohttp pauses
reading at twice its ``read_bufsize``)."""

_Trace = Callable[[str, dict[str, Any]], Awaitable[None]]


class AiohttpTransport(httpx.AsyncBaseTransport):
    """At most ``max_connections`` connections, kept alive between requests; ``verify``: an
    ``ssl.SSLContext``, ``True`` (the system's trust store) or ``False`` (no check)."""

    def __init__(self, *, max_connections: int, verify: ssl.SSLContext | bool = True) -> None:
        self._max_connections = max_connections
        self._verify = verify
        self._session: aiohttp.ClientSession | None = None  # made in the loop that uses it

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        exchange = _Exchange(request.extensions.get("trace"), timeouts)
        headers = [
            (name, value)
            for name, value in request.headers.multi_items()
            if name.lower() != "transfer-encoding"  # the body is sent whole, with its length
        ]
        body = await request.aread()
        try:
            async with asyncio.timeout(timeouts.get("pool")) as exchange.deadline:
                sent = self._open().request(
                    request.method,
                    URL(str(request.url), encoded=True),
                    headers=headers,
                    data=body or None,
                    allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(sock_read=timeouts.get("read")),
                    trace_request_ctx=exchange,
                )
                response = cast(_Response, await sent)
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, request, sent=exchange.headers_sent) from exc
        except TimeoutError as exc:  # our own deadline (aiohttp's are ClientErrors)
            raise exchange.timeout_error(request) from exc
        version = response.version or aiohttp.HttpVersion11
        stream = _Body(response, request)
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=stream,
            extensions={
                "http_version": f"HTTP/{version.major}.{version.minor}".encode(),
                "reason_phrase": (response.reason or "").encode(),
                "network_stream": _Connection(response.transport),
                _BODY: stream,
            },
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            phases = aiohttp.TraceConfig()
            phases.on_connection_create_start.append(_connecting)
            phases.on_connection_create_end.append(_connected)
            phases.on_connection_reuseconn.append(_connected)
            phases.on_request_headers_sent.append(_headers_sent)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=self._max_connections, limit_per_host=0, ssl=self._verify
                ),
                cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
                auto_decompress=False,  # httpx decodes the body
                read_bufsize=HIGH_WATER // 2,
                trace_configs=[phases],
                response_class=_Response,
            )
        return self._session


class _Exchange:
    """One request's phase (pool wait, connect, send), for its deadline and its errors."""

    def __init__(self, trace: _Trace | None, timeouts: dict[str, float | None]) -> None:
        self.trace = trace
        self.timeouts = timeouts
        self.deadline: asyncio.Timeout | None = None
        self.phase = "pool"
        self.headers_sent = False

    def timeout_error(self, request: httpx.Request) -> httpx.TimeoutException:
        if self.phase == "pool":
            return httpx.PoolTimeout("no free connection in time", request=request)
        if self.phase == "connect":
            return httpx.ConnectTimeout("could not connect in time", request=request)
        if not self.headers_sent:
            return httpx.WriteTimeout("the request was not written in time", request=request)
        return httpx.ReadTimeout("no response in time", request=request)


def _exchange(context: SimpleNamespace) -> _Exchange:
    exchange: _Exchange = context.trace_request_ctx
    return exchange


async def _connecting(session: object, context: SimpleNamespace, params: object) -> None:
    exchange = _exchange(context)
    exchange.phase = "connect"  # DNS, TCP, TLS
    connect = exchange.timeouts.get("connect")
    if exchange.deadline is not None:
        until = None if connect is None else asyncio.get_running_loop().time() + connect
        exchange.deadline.reschedule(until)


async def _connected(session: object, context: SimpleNamespace, params: object) -> None:
    exchange = _exchange(context)
    exchange.phase = "send"
    write, read = exchange.timeouts.get("write"), exchange.timeouts.get("read")
    if exchange.deadline is not None:
        until = None
        if write is not None and read is not None:
            until = asyncio.get_running_loop().time() + write + read
        exchange.deadline.reschedule(until)
    if exchange.trace is not None:
        await exchange.trace("http11.send_request_headers.started", {})


async def _headers_sent(session: object, context: SimpleNamespace, params: object) -> None:
    _exchange(context).headers_sent = True


class _Response(aiohttp.ClientResponse):
    """Keeps its connection's transport: a short body may return the connection to the pool
    before the response is handed over."""

    transport: asyncio.Transport | None = None

    async def start(self, connection: Connection) -> aiohttp.ClientResponse:
        self.transport = connection.transport
        return await super().start(connection)


class _Body(httpx.AsyncByteStream):
    """The response body as aiohttp's buffer holds it: whatever arrived since the last read."""

    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response = response
        self._request = request
        self._paused: asyncio.Transport | None = None  # by hold(), until _resume fires
        self._resume: asyncio.TimerHandle | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while block := await self.read():
            yield block

    async def read(self) -> bytes:
        """What arrived since the last read (waiting for something), ``b""`` at the end."""
        try:
            return await self._response.content.readany()
        except aiohttp.ClientError as exc:
            raise _httpx_error(exc, self._request, sent=True) from exc

    async def hold(self, seconds: float) -> float:
        """Leave the socket unread for ``seconds`` (see :mod:`core.agents.batching`): what
        arrives meanwhile waits in the kernel and comes in one read, one parse, afterwards.
        The socket's transport is paused, not aiohttp's protocol: pausing that pauses its
        parser too, which then hands over one HTTP chunk per resumption.

        Returns at once, with the seconds the next :meth:`read` will wait before any data
        can come (a timer resumes the socket): one task wake-up per held read, not two.
        Without a socket to pause it sleeps instead and returns 0."""
        transport = self._response.connection and self._response.connection.transport
        if transport is None or not transport.is_reading():
            await asyncio.sleep(seconds)  # closed, or paused by aiohttp's buffer limit
            return 0.0
        transport.pause_reading()
        self._paused = transport
        self._resume = asyncio.get_running_loop().call_later(seconds, self._resume_reading)
        return seconds

    def _resume_reading(self) -> None:
        transport, self._paused, self._resume = self._paused, None, None
        if transport is not None and not transport.is_closing():
            transport.resume_reading()

    async def aclose(self) -> None:
        if self._resume is not None:  # a held read not taken: the socket reads again
            self._resume.cancel()
            self._resume_reading()
        if self._response.content.at_eof():
            self._response.release()  # the connection goes back to the pool
        else:
            self._response.close()  # read partly: the server sees the client go away


_BODY = "threadcast.body"
"""The response extension holding the :class:`_Body` (see :func:`body_reader`)."""


def body_reader(response: httpx.Response) -> _Body | None:
    """``response``'s body straight from this transport (``read``, ``hold``), for a stream's
    per-chunk path: httpx's body iteration is four async-generator layers per read
    (tests/bench/README.md, "CPU per streamed reply"). ``None`` when the body is not this
    transport's or needs decoding (``Content-Encoding``: httpx decodes it). Reading this way still
    ends with httpx's ``response.aclose()``, which releases or closes the connection."""
    body = response.extensions.get(_BODY)
    encoding = response.headers.get("content-encoding", "identity")
    if not isinstance(body, _Body) or encoding.strip().lower() != "identity":
        return None
    return body


class _Connection:
    """httpx's ``network_stream`` extension: what the connection's socket says."""

    def __init__(self, transport: asyncio.Transport | None) -> None:
        self._transport = transport

    def get_extra_info(self, info: str) -> Any:
        if self._transport is None:
            return None
        return self._transport.get_extra_info(_EXTRA_INFO.get(info, info))


_EXTRA_INFO = {"client_addr": "sockname", "server_addr": "peername"}  # httpcore's → asyncio's


def _httpx_error(exc: aiohttp.ClientError, request: httpx.Request, *, sent: bool) -> Exception:
    """The httpx exception for an aiohttp one (``sent``: the request's headers went out)."""
    message = str(exc) or type(exc).__name__
    kind: type[httpx.TransportError]
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS
        kind = httpx.ConnectError
    elif isinstance(exc, aiohttp.ServerTimeoutError):
        kind = httpx.ReadTimeout
    elif isinstance(
        exc,
        aiohttp.ServerDisconnectedError  # no response
        | aiohttp.ClientPayloadError  # a body cut short or malformed
        | aiohttp.ClientResponseError,  # a malformed status line or headers
    ):
        kind = httpx.RemoteProtocolError
    elif isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        kind = httpx.UnsupportedProtocol
    else:
        kind = httpx.ReadError if sent else httpx.WriteError
    return kind(message, request=request)
