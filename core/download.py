"""Download a file from a URL someone else chose: guarded, size-capped, spooled.

The bytes go into a :class:`Spool`, a temporary file that stays in memory while small and
moves to disk past :data:`SPOOL_IN_MEMORY`: ten 24-MiB artifacts then cost disk, not RSS.
The connection goes through a :func:`~core.netguard.guarded_client`; a plain client is
refused rather than trusted, since nothing would check where it connects. Without a client,
one allowing the hosts of ``THREADCAST_ARTIFACT_ALLOW_HOSTS`` is used.
"""

from __future__ import annotations

import os
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO
from urllib.parse import urljoin

import httpx

from core.netguard import ALLOW_HOSTS_VARIABLE, AddressRefused, guarded_client, is_guarded

__all__ = [
    "DOWNLOAD_TIMEOUT",
    "SPOOL_IN_MEMORY",
    "DownloadRefused",
    "Spool",
    "TooLarge",
    "download",
]

SPOOL_IN_MEMORY = 1024 * 1024
"""Bytes a download may keep in memory before it moves to a temporary file."""

DOWNLOAD_TIMEOUT = 120.0
"""Seconds a whole download may take (25 MiB on a slow link): the client bounds each read
only, so a host that drips bytes would otherwise hold its caller for ever. An agent's
artifact gets this much (``core.relay.attachments``), a message's files all together
(``core.context.files``)."""


class DownloadRefused(Exception):
    """The URL was not fetched: ``kind`` says why, ``address`` (its address is internal),
    ``link`` (not a valid URL, too many redirects, another host), ``encoding`` (a body
    encoded in a way it does not decode) or ``client`` (an unguarded client)."""

    def __init__(self, message: str, *, kind: str) -> None:
        self.kind = kind
        super().__init__(message)


class TooLarge(Exception):
    """The body is larger than allowed (``size`` bytes seen or announced)."""

    def __init__(self, size: int, cap: int) -> None:
        self.size, self.cap = size, cap
        super().__init__(f"too large ({size:,} bytes > limit {cap:,})")


@dataclass(slots=True)
class Spool:
    """A downloaded body: ``file`` is positioned at the start, ``size`` bytes long."""

    file: IO[bytes]
    size: int
    content_type: str = ""

    @property
    def rolled_to_disk(self) -> bool:
        return bool(getattr(self.file, "_rolled", True))

    def close(self) -> None:
        self.file.close()


def new_spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="threadcast-")


_MAX_REDIRECTS = 5


async def download(
    url: str,
    *,
    client: httpx.AsyncClient | None,
    max_bytes: int,
    headers: Mapping[str, str] | None = None,
    same_host: bool = False,
) -> Spool:
    """GET ``url`` into a spool; raises :class:`DownloadRefused`, :class:`TooLarge`,
    ``httpx.HTTPStatusError`` for an error status, or ``httpx.HTTPError``.

    ``same_host``: redirects are followed only to the same scheme and host, and refused
    otherwise: a credential in ``headers`` (a Slack bot token) must reach no other host,
    and a file host that redirects elsewhere is not serving the file (Slack sends a
    sign-in page's address when the token may not read it)."""
    if client is not None and not is_guarded(client):
        raise DownloadRefused(
            "refused: the HTTP client given does not check addresses", kind="client"
        )
    # Without a client (a script's ``file.download(path)``), the allow-list comes from the
    # same environment variable the bots read through their settings.
    http = client or guarded_client(os.environ.get(ALLOW_HOSTS_VARIABLE, ""))
    spool = new_spool()
    try:
        content_type = await _fetch_into(spool, url, http, max_bytes, headers, same_host)
        return Spool(spool, _size(spool), content_type)
    except BaseException:
        spool.close()
        raise
    finally:
        if client is None:
            await http.aclose()


async def _fetch_into(
    target: IO[bytes],
    url: str,
    http: httpx.AsyncClient,
    cap: int,
    headers: Mapping[str, str] | None = None,
    same_host: bool = False,
) -> str:
    # The codings _Inflater decodes, and no other: httpx offers br and zstd as well when
    # their packages happen to be installed, and such a body would be stored still encoded.
    headers = {"Accept-Encoding": _ACCEPTED_CODINGS, **(headers or {})}
    try:
        for _ in range(_MAX_REDIRECTS + 1):
            async with http.stream(
                "GET", url, headers=headers, follow_redirects=not same_host
            ) as response:
                if same_host and response.is_redirect:
                    url = _same_host_target(url, response.headers.get("location", ""))
                    continue
                response.raise_for_status()
                await _read_capped(target, response, cap)
                return str(response.headers.get("content-type", ""))
        raise DownloadRefused("refused: too many redirects", kind="link")
    except AddressRefused as exc:
        # For the log: the host, the address it resolved to and why (never posted).
        raise DownloadRefused(f"refused: {exc}", kind="address") from exc
    except httpx.InvalidURL as exc:
        raise DownloadRefused(f"refused: not a valid URL ({exc})", kind="link") from exc


def _same_host_target(url: str, location: str) -> str:
    target = urljoin(url, location)
    old, new = httpx.URL(url), httpx.URL(target)
    if (old.scheme, old.host, old.port) != (new.scheme, new.host, new.port):
        raise DownloadRefused(
            f"refused: redirected to another host ({new.host or '?'})", kind="link"
        )
    return target


async def _read_capped(target: IO[bytes], response: httpx.Response, cap: int) -> None:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > cap:
        raise TooLarge(int(declared), cap)
    inflate = _Inflater(response)
    received = raw_received = 0
    # The cap counts the bytes actually received too: a lying or missing header cannot
    # make us store an unbounded body. Compressed bodies are inflated here, never past the
    # cap: httpx's own decoding inflates each 64 KiB read whole, so a 2 KB "gzip, gzip"
    # body became 1 GiB in memory before any cap was checked (a bomb for one artifact).
    async for raw in response.aiter_raw():
        raw_received += len(raw)
        if raw_received > 2 * cap + _RAW_SLACK:  # bytes a finished stream ignores
            raise TooLarge(raw_received, cap)
        data = raw
        while data:
            # A block at a time into the spool (which rolls to disk past SPOOL_IN_MEMORY):
            # inflated up to the cap at once, one 64 KiB read of zeros is 64 MiB in memory.
            block, data = inflate(data, min(cap - received + 1, _BLOCK))
            received += len(block)
            if received > cap:
                raise TooLarge(received, cap)
            target.write(block)
    block = inflate.flush()
    received += len(block)
    if received > cap:
        raise TooLarge(received, cap)
    target.write(block)


_RAW_SLACK = 64 * 1024
_BLOCK = 64 * 1024  # the most inflated at once
_ACCEPTED_CODINGS = "gzip, deflate"


class _Inflater:
    """Decodes the body's ``Content-Encoding`` (gzip or deflate, as httpx asks for),
    returning at most ``room`` bytes per call with the input it has not consumed yet."""

    def __init__(self, response: httpx.Response) -> None:
        header = response.headers.get("content-encoding", "")
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1:
            raise DownloadRefused(
                f"refused: content encoded more than once ({header})", kind="encoding"
            )
        self._request = response.request
        self._coding = codings[0] if codings else ""
        self._z: zlib._Decompress | None = None
        self._first = True
        if self._coding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self._coding == "deflate":  # zlib-wrapped as the RFC says, or raw (as sent)
            self._z = zlib.decompressobj()
        # Any other coding was not asked for: kept as sent, as httpx does.

    def __call__(self, data: bytes, room: int) -> tuple[bytes, bytes]:
        if self._z is None:
            return data[:room], data[room:]
        try:
            block = self._z.decompress(data, room)
        except zlib.error as exc:
            if not (self._first and self._coding == "deflate"):
                raise httpx.DecodingError(str(exc), request=self._request) from exc
            self._z = zlib.decompressobj(-zlib.MAX_WBITS)
            block = self._z.decompress(data, room)
        self._first = False
        return block, self._z.unconsumed_tail

    def flush(self) -> bytes:
        """The rest of the body; a compressed stream that did not reach its end is an
        error (zlib returns what it has without a word), not a file stored cut short."""
        if self._z is None:
            return b""
        try:
            rest = self._z.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(str(exc), request=self._request) from exc
        if not self._first and not self._z.eof:  # an empty body is an empty file
            raise httpx.DecodingError(
                f"{self._coding} stream cut short before its end", request=self._request
            )
        return rest


def _size(spool: IO[bytes]) -> int:
    spool.seek(0, 2)
    size = spool.tell()
    spool.seek(0)
    return size
