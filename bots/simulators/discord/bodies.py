"""Reading a request body the way Discord accepts it: JSON, or multipart with
``payload_json`` and ``files[n]`` parts (discord-api-docs, Reference > Uploading Files).

Sizes are enforced while reading, so an oversized upload is refused with Discord's
413 / 40005 without holding more than one file's limit in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from .config import SimulatorConfig
from .errors import ApiError, invalid_form, too_large

__all__ = ["Body", "Upload", "read_body"]

_CHUNK = 64 * 1024


@dataclass(slots=True)
class Upload:
    field: str  # ``files[n]``
    filename: str
    data: bytes
    content_type: str

    @property
    def index(self) -> int:
        inner = self.field[self.field.find("[") + 1 : self.field.rfind("]")]
        return int(inner) if inner.isdigit() else 0


@dataclass(slots=True)
class Body:
    json: Any = None
    files: list[Upload] = field(default_factory=list)


async def _read_part(part: BodyPartReader, limit: int) -> bytes:
    chunks = bytearray()
    while chunk := await part.read_chunk(_CHUNK):
        chunks.extend(chunk)
        if len(chunks) > limit:
            raise too_large()
    return bytes(chunks)


async def read_body(request: web.Request, config: SimulatorConfig) -> Body:
    """Parse the body; raises ``ApiError`` for bad JSON or sizes over Discord's limits."""
    if request.method in ("GET", "DELETE", "HEAD") or not request.can_read_body:
        return Body()
    if request.content_length is not None and request.content_length > config.max_request_size:
        raise too_large()
    if request.content_type.startswith("multipart/"):
        return await _read_multipart(request, config)
    raw = await request.read()
    if not raw:
        return Body()
    try:
        return Body(json=json.loads(raw))
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


async def _read_multipart(request: web.Request, config: SimulatorConfig) -> Body:
    body = Body()
    total = 0
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue  # nested multipart: Discord does not use it
        name = part.name or ""
        if name == "payload_json":
            raw = await _read_part(part, config.max_request_size)
            try:
                body.json = json.loads(raw)
            except ValueError:
                raise invalid_form("payload_json", "JSON_INVALID", "Invalid JSON") from None
        elif name.startswith("files[") or name == "file":
            # The upload limit counts every file of the request together (``config``).
            data = await _read_part(part, config.max_file_size - total)
            total += len(data)
            content_type = part.headers.get("Content-Type", "application/octet-stream")
            body.files.append(Upload(name, part.filename or "unknown", data, content_type))
        else:
            await part.release()
    return body
