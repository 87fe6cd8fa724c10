"""The reference SDK's public shapes: ``AgentStream``, ``Artifact`` and ``AgentResponse``.

Code written against the reference agent SDK (``chunk.content``, ``chunk.done``,
``chunk.files``, ``file.download(path)``) keeps working on these unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx
from pydantic import BaseModel, ConfigDict, Field

from core import texts
from core.download import DownloadRefused, Spool, TooLarge, download, new_spool
from core.errors import ArtifactError

__all__ = [
    "ARTIFACTS_ERROR_KEY",
    "DEFAULT_ARTIFACT_MAX_BYTES",
    "FINISH_REASON_KEY",
    "STATUS_KEY",
    "UNREADABLE_ARTIFACTS_KEY",
    "AgentResponse",
    "AgentStream",
    "Artifact",
]

DEFAULT_ARTIFACT_MAX_BYTES = 25 * 1024 * 1024

STATUS_KEY = "status"
FINISH_REASON_KEY = "finish_reason"
"""Final-chunk metadata: why the model stopped (OpenAI's ``finish_reason``: ``stop``,
``length``, ``content_filter``...), when the agent API says."""
"""``metadata`` key of a progress chunk; see :class:`AgentStream`."""
UNREADABLE_ARTIFACTS_KEY = "artifacts_unreadable"
"""Final-chunk metadata: why files the agent announced could not be read (one reason per
list that could not be), so the user is told they were lost (:mod:`core.relay.attachments`)."""
ARTIFACTS_ERROR_KEY = "artifacts_error"
"""Final-chunk metadata: why the session's files could not be listed after the reply (the
Lyzr client's artifacts listing failed), so the user is told files the agent made may be
missing (:mod:`core.relay.attachments`); the reason itself is for the log."""


class Artifact(BaseModel):
    """A file the agent produced; ``url`` is also accepted as ``file_url`` (the wire name).

    ``url`` is empty when the agent listed the file without a link: it cannot be fetched,
    and whoever delivers it names it instead of dropping it silently.
    """

    model_config = ConfigDict(populate_by_name=True)

    name: str
    url: str = Field(alias="file_url")
    format_type: str = ""
    artifact_id: str | None = None

    @asynccontextmanager
    async def spooled(
        self,
        *,
        max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES,
        client: httpx.AsyncClient | None = None,
    ) -> AsyncIterator[Spool]:
        """The file's bytes in a temporary file (memory while small), closed on exit.

        Fetched through an address-checking client (:mod:`core.netguard`): ``client`` must
        come from :func:`~core.netguard.guarded_client`; without one, a default that allows
        no internal host is used. The cap is checked against ``Content-Length`` and against
        the bytes received. A ``data:`` URL (the demo agent's files) is decoded in place.
        """
        if not self.url:
            raise ArtifactError(
                self.name, "no download link was given", url=self.url, reason=texts.ARTIFACT_NO_LINK
            )
        if self.url.startswith("data:"):
            spool = Spool(new_spool(), 0)
            spool.file.write(self._data_url_bytes(max_bytes))
            spool.size = spool.file.tell()
            spool.file.seek(0)
        else:
            spool = await self._download(max_bytes, client)
        try:
            yield spool
        finally:
            spool.close()

    async def _download(self, max_bytes: int, client: httpx.AsyncClient | None) -> Spool:
        try:
            return await download(self.url, client=client, max_bytes=max_bytes)
        except DownloadRefused as exc:
            raise ArtifactError(
                self.name,
                str(exc),
                url=self.url,
                reason=_REFUSED.get(exc.kind),
                show_link=exc.kind != "address",
            ) from exc
        except TooLarge as exc:
            raise ArtifactError(
                self.name, str(exc), url=self.url, reason=texts.artifact_too_large(exc.cap)
            ) from exc
        except httpx.HTTPStatusError as exc:
            status = exc.response.status_code
            raise ArtifactError(
                self.name,
                f"download failed (HTTP {status})",
                url=self.url,
                reason=texts.artifact_http_status(status),
            ) from exc
        except httpx.HTTPError as exc:
            raise ArtifactError(
                self.name, f"download failed ({exc!r})", url=self.url, reason=_failure_reason(exc)
            ) from exc

    async def fetch(
        self,
        *,
        max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES,
        client: httpx.AsyncClient | None = None,
    ) -> bytes:
        """Download the bytes into memory (see :meth:`spooled`, which does not)."""
        async with self.spooled(max_bytes=max_bytes, client=client) as spool:
            return spool.file.read()

    def _data_url_bytes(self, cap: int) -> bytes:
        header, comma, payload = self.url.partition(",")
        if not comma:
            raise ArtifactError(
                self.name, "malformed data: URL", url=self.url[:64], reason=texts.ARTIFACT_BAD_DATA
            )
        if header.endswith(";base64"):
            self._check_size(len(payload) * 3 // 4 - 2, cap)  # before decoding anything
            try:
                data = base64.b64decode(payload, validate=True)
            except binascii.Error as exc:
                raise ArtifactError(
                    self.name,
                    f"bad base64 ({exc})",
                    url=self.url[:64],
                    reason=texts.ARTIFACT_BAD_DATA,
                ) from exc
        else:
            data = unquote_to_bytes(payload)
        self._check_size(len(data), cap)
        return data

    def _check_size(self, size: int, cap: int) -> None:
        if size > cap:
            raise ArtifactError(
                self.name,
                f"too large ({size:,} bytes > limit {cap:,})",
                url=self.url,
                reason=texts.artifact_too_large(cap),
            )

    async def adownload(
        self, path: str | Path, *, max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES
    ) -> Path:
        """Fetch the file and write it to ``path`` (a folder keeps ``name``)."""
        async with self.spooled(max_bytes=max_bytes) as spool:
            return await asyncio.to_thread(_write_file, Path(path), self.name, spool)

    def download(self, path: str | Path, *, max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES) -> Path:
        """Blocking twin of :meth:`adownload`, for scripts (the reference SDK's call)."""
        return asyncio.run(self.adownload(path, max_bytes=max_bytes))


_REFUSED = {
    "address": texts.ARTIFACT_ADDRESS_REFUSED,
    "link": texts.ARTIFACT_BAD_LINK,
    "encoding": texts.ARTIFACT_DAMAGED,
}
"""A refused download's reason, by the refusal's kind (an unguarded client: the bot's own
fault, said as a plain failure)."""


def _failure_reason(exc: httpx.HTTPError) -> str:
    """Why a download failed in httpx, in words: the link's server not reached, too slow,
    cut off, a body that does not decode, a redirect loop."""
    if isinstance(exc, httpx.ConnectError):
        return texts.ARTIFACT_UNREACHABLE
    if isinstance(exc, httpx.TimeoutException):  # connecting too
        return texts.DOWNLOAD_TIMED_OUT
    if isinstance(exc, httpx.DecodingError):
        return texts.ARTIFACT_DAMAGED
    if isinstance(exc, httpx.TooManyRedirects):
        return texts.ARTIFACT_REDIRECTS
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return texts.ARTIFACT_CUT_OFF
    if isinstance(exc, httpx.UnsupportedProtocol):  # ftp://, no scheme
        return texts.ARTIFACT_BAD_LINK
    return texts.download_failed()


def _write_file(path: Path, name: str, spool: Spool) -> Path:
    target = path / Path(name).name if path.is_dir() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        shutil.copyfileobj(spool.file, out)
    return target


class AgentStream(BaseModel):
    """One streamed chunk. The final chunk has ``done=True`` and carries
    ``structured_data`` and ``artifact_files``; its ``content`` is empty, so joining every
    chunk's ``content`` gives the whole reply exactly once.

    A *progress* chunk has empty ``content`` and ``metadata[STATUS_KEY]``: a short line
    saying what the agent is doing ("Using web_search…"), for the thread's status while no
    text flows. It is never reply text; consumers that do not show statuses ignore it.
    ``metadata["tool"]`` names the tool when the agent said which.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    content: str = ""
    delta: str | None = None
    done: bool = False
    session_id: str | None = None
    chunk_index: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    structured_data: BaseModel | None = None
    artifact_files: list[Artifact] = Field(default_factory=list)

    def has_files(self) -> bool:
        return bool(self.artifact_files)

    @property
    def files(self) -> list[Artifact]:
        return self.artifact_files

    @property
    def status(self) -> str | None:
        """The progress line of a progress chunk, else ``None``."""
        value = self.metadata.get(STATUS_KEY)
        return value if isinstance(value, str) and value else None

    def to_dict(self) -> dict[str, Any]:
        data = self.model_dump(exclude={"structured_data"})
        data["structured_data"] = (
            self.structured_data.model_dump() if self.structured_data is not None else None
        )
        return data


class AgentResponse(BaseModel):
    """A whole, non-streamed reply (``agent.run(message)``): ``.response`` is the text."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    response: str
    session_id: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    structured_data: BaseModel | None = None
    artifact_files: list[Artifact] = Field(default_factory=list)

    @property
    def files(self) -> list[Artifact]:
        return self.artifact_files

    def has_files(self) -> bool:
        return bool(self.artifact_files)
