"""The reference SDK's public shapes: ``AgentStream``, ``Artifact`` and ``AgentResponse``.

Code written against the reference agent SDK (``chunk.content``, ``chunk.done``,
``chunk.files``, ``file.download(path)``) keeps working on these unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx
from pydantic import BaseModel, ConfigDict, Field

from core.errors import ArtifactError

__all__ = ["DEFAULT_ARTIFACT_MAX_BYTES", "AgentResponse", "AgentStream", "Artifact"]

DEFAULT_ARTIFACT_MAX_BYTES = 25 * 1024 * 1024
_FETCH_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Artifact(BaseModel):
    """A file the agent produced; ``url`` is also accepted as ``file_url`` (the wire name)."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    url: str = Field(alias="file_url")
    format_type: str = ""
    artifact_id: str | None = None

    async def fetch(
        self,
        *,
        max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES,
        client: httpx.AsyncClient | None = None,
    ) -> bytes:
        """Download the bytes, streamed, refusing anything over ``max_bytes``.

        The cap is checked against ``Content-Length`` first and against the bytes actually
        received, so a lying or missing header cannot make us buffer an unbounded body.
        A ``data:`` URL (the demo agent's files) is decoded in place, under the same cap.
        """
        if self.url.startswith("data:"):
            return self._data_url_bytes(max_bytes)
        own_client = client is None
        http = client or httpx.AsyncClient(timeout=_FETCH_TIMEOUT, follow_redirects=True)
        try:
            async with http.stream("GET", self.url) as response:
                if response.status_code >= 400:
                    raise ArtifactError(
                        self.name, f"download failed (HTTP {response.status_code})", url=self.url
                    )
                declared = response.headers.get("content-length")
                if declared is not None and declared.isdigit():
                    self._check_size(int(declared), max_bytes)
                parts: list[bytes] = []
                received = 0
                async for block in response.aiter_bytes():
                    received += len(block)
                    self._check_size(received, max_bytes)
                    parts.append(block)
                return b"".join(parts)
        except httpx.HTTPError as exc:
            raise ArtifactError(self.name, f"download failed ({exc!r})", url=self.url) from exc
        finally:
            if own_client:
                await http.aclose()

    def _data_url_bytes(self, cap: int) -> bytes:
        header, comma, payload = self.url.partition(",")
        if not comma:
            raise ArtifactError(self.name, "malformed data: URL", url=self.url[:64])
        if header.endswith(";base64"):
            self._check_size(len(payload) * 3 // 4 - 2, cap)  # before decoding anything
            try:
                data = base64.b64decode(payload, validate=True)
            except binascii.Error as exc:
                raise ArtifactError(self.name, f"bad base64 ({exc})", url=self.url[:64]) from exc
        else:
            data = unquote_to_bytes(payload)
        self._check_size(len(data), cap)
        return data

    def _check_size(self, size: int, cap: int) -> None:
        if size > cap:
            raise ArtifactError(
                self.name, f"too large ({size:,} bytes > limit {cap:,})", url=self.url
            )

    async def adownload(
        self, path: str | Path, *, max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES
    ) -> Path:
        """Fetch the file and write it to ``path`` (a folder keeps ``name``)."""
        data = await self.fetch(max_bytes=max_bytes)
        return await asyncio.to_thread(_write_file, Path(path), self.name, data)

    def download(self, path: str | Path, *, max_bytes: int = DEFAULT_ARTIFACT_MAX_BYTES) -> Path:
        """Blocking twin of :meth:`adownload`, for scripts (the reference SDK's call)."""
        return asyncio.run(self.adownload(path, max_bytes=max_bytes))


def _write_file(path: Path, name: str, data: bytes) -> Path:
    target = path / Path(name).name if path.is_dir() else path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


class AgentStream(BaseModel):
    """One streamed chunk. The final chunk has ``done=True`` and carries
    ``structured_data`` and ``artifact_files``; its ``content`` is empty, so joining every
    chunk's ``content`` gives the whole reply exactly once."""

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
