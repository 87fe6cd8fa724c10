"""The files an agent produced, read from whatever shape the API answers with, and which
of them a session was already given.

Lyzr lists a session's files at ``GET /v3/artifacts/?page=&limit=``; a page has been seen
as a bare list, as ``{"artifacts": [...], "total": n}`` and as
``{"data": {"artifacts": [...]}}`` (the studio UI). The link is ``file_url`` or ``url``; an
item without one is kept with an empty ``url``, so the reply names it instead of dropping it.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any, Protocol
from urllib.parse import urlsplit

import redis.asyncio as aioredis

from core.config import DEFAULT_NAMESPACE
from core.errors import SessionStoreError
from core.models import Artifact
from core.redis import guarded
from core.sessions.keys import agent_session_key

__all__ = [
    "DeliveredArtifacts",
    "MemoryDelivered",
    "RedisDelivered",
    "artifact_key",
    "listed_limit",
    "listed_total",
    "merged",
    "parse_artifacts",
]

log = logging.getLogger(__name__)

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
    return [artifact for item in payload if (artifact := _artifact(item)) is not None]


def listed_total(payload: Any) -> int | None:
    """The ``total`` a page announces (at its top or under ``data``), if any."""
    return _announced(payload, "total")


def listed_limit(payload: Any, asked: int) -> int:
    """The page size: ``asked``, or a smaller ``limit`` the server says it used."""
    used = _announced(payload, "limit")
    return min(asked, used) if used is not None and used > 0 else asked


def _announced(payload: Any, key: str) -> int | None:
    for holder in (payload, payload.get("data") if isinstance(payload, dict) else None):
        if isinstance(holder, dict) and isinstance(holder.get(key), int):
            return int(holder[key])
    return None


def artifact_key(artifact: Artifact) -> str:
    """What identifies a file across listings: its id, else its link, else its name."""
    return artifact.artifact_id or artifact.url or f"name:{artifact.name}"


def merged(first: Iterable[Artifact], then: Iterable[Artifact]) -> list[Artifact]:
    """``first``, then those of ``then`` not among them: a file named twice (the same
    ``artifact_id`` or the same link), in the listing and in the reply's text say, once."""
    out: list[Artifact] = []
    ids: set[str] = set()
    urls: set[str] = set()
    for artifact in (*first, *then):
        if artifact.artifact_id in ids or artifact.url in urls:
            continue
        out.append(artifact)
        if artifact.artifact_id:
            ids.add(artifact.artifact_id)
        if artifact.url:
            urls.add(artifact.url)
    return out


def _artifact(item: Any) -> Artifact | None:
    if not isinstance(item, dict):
        return None
    url = item.get("file_url") or item.get("url")
    url = url if isinstance(url, str) else ""
    name = item.get("name") or PurePosixPath(urlsplit(url).path).name
    if not name:
        return None  # neither a link nor a name: nothing to deliver or to name
    format_type = item.get("format_type") or PurePosixPath(str(name)).suffix.lstrip(".")
    artifact_id = item.get("artifact_id") or item.get("id")
    return Artifact(
        name=str(name),
        url=url,
        format_type=str(format_type),
        artifact_id=str(artifact_id) if artifact_id is not None else None,
    )


class DeliveredArtifacts(Protocol):
    """Which artifacts each session was given. The artifacts endpoint lists *every* file of
    the session, so without this each reply would deliver all earlier turns' files again."""

    async def claim(self, session_id: str, artifacts: Iterable[Artifact]) -> list[Artifact]:
        """Those of ``artifacts`` not delivered yet, now marked delivered."""
        ...


class MemoryDelivered:
    """In this process only, bounded (LRU of sessions): the demo, scripts and tests."""

    def __init__(self, max_sessions: int = 2048) -> None:
        self._seen: OrderedDict[str, set[str]] = OrderedDict()
        self._max = max_sessions

    async def claim(self, session_id: str, artifacts: Iterable[Artifact]) -> list[Artifact]:
        seen = self._seen.pop(session_id, set())
        fresh = [a for a in artifacts if artifact_key(a) not in seen]
        seen.update(artifact_key(a) for a in fresh)
        self._seen[session_id] = seen
        while len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return fresh


class RedisDelivered:
    """In Redis, one set per session with the session's TTL: replicas and restarts agree.

    ``SADD`` of each file in one transaction is the claim: exactly one caller gets a 1 for
    a file, so two replicas answering the same session never both upload it. If Redis
    fails, this process's memory decides (a repeat is better than a lost file).
    """

    def __init__(
        self, redis: aioredis.Redis, *, namespace: str = DEFAULT_NAMESPACE, ttl: float
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._ttl_ms = max(1, int(ttl * 1000))
        self._fallback = MemoryDelivered()

    def key(self, session_id: str) -> str:
        return agent_session_key(session_id, "delivered", namespace=self._namespace)

    async def claim(self, session_id: str, artifacts: Iterable[Artifact]) -> list[Artifact]:
        listed = list(artifacts)
        if not listed:
            return []
        key = self.key(session_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for artifact in listed:
                    pipe.sadd(key, artifact_key(artifact))
                pipe.pexpire(key, self._ttl_ms)
                added = await guarded("artifacts delivered", pipe.execute())
        except SessionStoreError as exc:
            log.warning("delivered artifacts not recorded in Redis (%r); using memory", exc)
            return await self._fallback.claim(session_id, listed)
        return [a for a, new in zip(listed, added, strict=False) if new]
