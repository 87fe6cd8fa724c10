"""The files an agent produced, read from whatever shape the API answers with.

Lyzr lists a session's files at ``GET /v3/artifacts/``; the response has been seen as a bare
list and as an object holding the list (``artifacts``, ``artifact_files`` or ``data``).
Items without a URL are skipped rather than failing the whole reply.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from core.models import Artifact

__all__ = ["DeliveredArtifacts", "parse_artifacts"]

_LIST_KEYS = ("artifacts", "artifact_files", "data", "files", "items", "results")


def parse_artifacts(payload: Any, *, _depth: int = 0) -> list[Artifact]:
    """Artifacts found in ``payload`` (a list, or an object wrapping one)."""
    if isinstance(payload, dict) and _depth < 3:
        for key in _LIST_KEYS:
            if key in payload:
                return parse_artifacts(payload[key], _depth=_depth + 1)
        return []
    if not isinstance(payload, list):
        return []
    found: list[Artifact] = []
    for item in payload:
        artifact = _artifact(item)
        if artifact is not None:
            found.append(artifact)
    return found


def _artifact(item: Any) -> Artifact | None:
    if not isinstance(item, dict):
        return None
    url = item.get("file_url") or item.get("url")
    if not isinstance(url, str) or not url:
        return None
    name = item.get("name") or PurePosixPath(urlsplit(url).path).name or "artifact"
    format_type = item.get("format_type") or PurePosixPath(str(name)).suffix.lstrip(".")
    artifact_id = item.get("artifact_id") or item.get("id")
    return Artifact(
        name=str(name),
        url=url,
        format_type=str(format_type),
        artifact_id=str(artifact_id) if artifact_id is not None else None,
    )


class DeliveredArtifacts:
    """Which artifacts each session has already been given, bounded (LRU of sessions).

    The artifacts endpoint lists *every* file of the session, so without this a reply would
    re-deliver the files of all earlier turns. It is per process: after a restart the next
    reply of an old session may repeat earlier files once.
    """

    def __init__(self, max_sessions: int = 2048) -> None:
        self._seen: OrderedDict[str, set[str]] = OrderedDict()
        self._max = max_sessions

    def new_only(self, session_id: str, artifacts: Iterable[Artifact]) -> list[Artifact]:
        seen = self._seen.pop(session_id, set())
        fresh = [a for a in artifacts if (a.artifact_id or a.url) not in seen]
        seen.update(a.artifact_id or a.url for a in fresh)
        self._seen[session_id] = seen
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return fresh
