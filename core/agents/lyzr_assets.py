"""Users' files to Lyzr: ``POST /v3/assets/upload``, then ``assets`` in the inference body.

The wire, from Lyzr's clients (no schema is published): the upload is multipart with one
``files`` part per file and the ``x-api-key`` header (a Lyzr TypeScript client's
``AssetsClient.uploadAssets``: "POST /v3/assets/upload"; the Lyzr agent-studio chat
upload, ``formData.append("files", file)``); the answer is ``{"results": [{"success",
"asset_id", "file_name", ...}], "total_files", "successful_uploads", "failed_uploads"}``
(the same client's ``MultiAssetUploadResponse``; agent-studio reads
``response.data.results.filter(r => r.success)``), and the ids go in the chat request as
``"assets": [asset_id, ...]`` ("Use asset_ids in agent chat: { message, assets }", a Lyzr
app template's upload route). The upload is sent once, bounded by a timeout; a file it does
not take is reported, never retried.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from core.context.models import InputFile

__all__ = ["UploadedAssets", "upload_assets"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class UploadedAssets:
    asset_ids: tuple[str, ...]
    failed: tuple[str, ...]  # names of files Lyzr did not take


async def upload_assets(
    http: httpx.AsyncClient,
    base_url: str,
    headers: dict[str, str],
    files: Sequence[InputFile],
    *,
    timeout: float,  # noqa: ASYNC109 - one bound for the whole upload
) -> UploadedAssets:
    """Upload ``files``; never raises (a failure fails every file, logged)."""
    if not files:
        return UploadedAssets((), ())
    parts = [("files", (f.name, f.data, f.mimetype)) for f in files]
    names = tuple(f.name for f in files)
    try:
        async with asyncio.timeout(timeout):
            response = await http.post(
                f"{base_url}/v3/assets/upload",
                files=parts,
                headers={**headers, "accept": "application/json"},
                timeout=timeout,
            )
    except (TimeoutError, httpx.HTTPError) as exc:
        log.warning("Lyzr asset upload failed: %r", exc)
        return UploadedAssets((), names)
    if response.status_code >= 400:
        log.warning("Lyzr asset upload refused: HTTP %d %s", response.status_code,
                    response.text[:200])  # fmt: skip
        return UploadedAssets((), names)
    try:
        payload = response.json()
    except ValueError:
        return UploadedAssets((), names)
    return _read_results(payload, names)


def _read_results(payload: Any, names: tuple[str, ...]) -> UploadedAssets:
    results = payload.get("results") if isinstance(payload, dict) else None
    if not isinstance(results, list):
        return UploadedAssets((), names)
    ids: list[str] = []
    taken: set[str] = set()
    for item in results:
        if not isinstance(item, dict) or not item.get("success"):
            continue
        asset_id = item.get("asset_id")
        if isinstance(asset_id, str) and asset_id:
            ids.append(asset_id)
            taken.add(str(item.get("file_name") or ""))
    failed = tuple(n for n in names if n not in taken) if len(ids) < len(names) else ()
    return UploadedAssets(tuple(ids), failed)
