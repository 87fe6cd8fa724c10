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
from dataclasses import dataclass
from typing import IO

import httpx

from core.netguard import ALLOW_HOSTS_VARIABLE, AddressRefused, guarded_client, is_guarded

__all__ = ["SPOOL_IN_MEMORY", "DownloadRefused", "Spool", "TooLarge", "download"]

SPOOL_IN_MEMORY = 1024 * 1024
"""Bytes a download may keep in memory before it moves to a temporary file."""


class DownloadRefused(Exception):
    """The URL was not fetched: its address is internal, or it is not a valid URL."""


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

    @property
    def rolled_to_disk(self) -> bool:
        return bool(getattr(self.file, "_rolled", True))

    def close(self) -> None:
        self.file.close()


def new_spool() -> IO[bytes]:
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, prefix="threadcast-")


async def download(url: str, *, client: httpx.AsyncClient | None, max_bytes: int) -> Spool:
    """GET ``url`` into a spool; raises :class:`DownloadRefused`, :class:`TooLarge`,
    ``httpx.HTTPStatusError`` for an error status, or ``httpx.HTTPError``."""
    if client is not None and not is_guarded(client):
        raise DownloadRefused("refused: the HTTP client given does not check addresses")
    # Without a client (a script's ``file.download(path)``), the allow-list comes from the
    # same environment variable the bots read through their settings.
    http = client or guarded_client(os.environ.get(ALLOW_HOSTS_VARIABLE, ""))
    spool = new_spool()
    try:
        await _fetch_into(spool, url, http, max_bytes)
        return Spool(spool, _size(spool))
    except BaseException:
        spool.close()
        raise
    finally:
        if client is None:
            await http.aclose()


async def _fetch_into(target: IO[bytes], url: str, http: httpx.AsyncClient, cap: int) -> None:
    try:
        async with http.stream("GET", url) as response:
            response.raise_for_status()
            declared = response.headers.get("content-length")
            if declared is not None and declared.isdigit() and int(declared) > cap:
                raise TooLarge(int(declared), cap)
            received = 0
            # The cap counts the bytes actually received too: a lying or missing header
            # cannot make us store an unbounded body.
            async for block in response.aiter_bytes():
                received += len(block)
                if received > cap:
                    raise TooLarge(received, cap)
                target.write(block)
    except AddressRefused as exc:
        raise DownloadRefused(f"refused: {exc}") from exc
    except httpx.InvalidURL as exc:
        raise DownloadRefused(f"refused: not a valid URL ({exc})") from exc


def _size(spool: IO[bytes]) -> int:
    spool.seek(0, 2)
    size = spool.tell()
    spool.seek(0)
    return size
