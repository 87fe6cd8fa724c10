"""Conversation → agent session id, kept in Redis so it survives restarts and replicas.

A session id is created the first time a conversation is seen (``SET NX``, so two replicas
racing on the first message agree on one id) and lives as long as the conversation keeps
talking: every use slides its TTL. Metadata (created, last turn, turn count) sits beside it
with the same TTL. Ids are ``tc-<uuid hex>``: a free-form string the agent backend (Lyzr)
keys its server-side memory by.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.redis import DEFAULT_OP_TIMEOUT, LuaScript, ms, text
from core.sessions.keys import DEFAULT_NAMESPACE, SessionKeys
from core.sessions.scripts import INFO, NEW_SESSION, SEEN, SESSION

__all__ = ["DEDUP_TTL", "SessionInfo", "SessionStore", "new_session_id"]

DEDUP_TTL = 600
"""Seconds an event id is remembered: Slack retries an unacknowledged event for ~5 minutes."""


def new_session_id() -> str:
    return f"tc-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """What Redis knows about a conversation's session (times are Unix seconds)."""

    session_id: str
    created: float | None
    last_turn: float | None
    turns: int
    expires_in: float | None
    """Seconds until the session is forgotten if unused; None if it has no expiry."""


class SessionStore:
    """Session ids per conversation key (see :mod:`core.sessions.keys`)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        ttl: float,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
    ) -> None:
        if ttl <= 0:
            raise ValueError("session ttl must be positive")
        self.redis = redis
        self.namespace = namespace
        self.ttl = ttl
        self.op_timeout = op_timeout

    def keys(self, conversation: str) -> SessionKeys:
        return SessionKeys(conversation, namespace=self.namespace)

    async def session_id(self, conversation: str) -> str:
        """The conversation's session id, created if new; refreshes its TTL."""
        return await self._session(SESSION, conversation)

    async def new_session(self, conversation: str) -> str:
        """Start over: a fresh session id; the old one (and its metadata) is dropped."""
        return await self._session(NEW_SESSION, conversation)

    async def _session(self, script: LuaScript, conversation: str) -> str:
        # Both scripts take the same keys and arguments: the id to use if a new one is
        # needed, and the session's TTL.
        keys = self.keys(conversation)
        sid = await script(
            self.redis, [keys.session, keys.meta], [new_session_id(), ms(self.ttl)],
            within=self.op_timeout,
        )  # fmt: skip
        return text(sid)

    async def info(self, conversation: str) -> SessionInfo | None:
        """The session's id and metadata without touching its TTL; None if there is none."""
        keys = self.keys(conversation)
        raw: list[str | bytes | int] = await INFO(
            self.redis, [keys.session, keys.meta], within=self.op_timeout
        )
        if not raw:
            return None
        sid, pttl, *flat = raw
        meta = {text(k): text(v) for k, v in zip(flat[::2], flat[1::2], strict=True)}
        return SessionInfo(
            session_id=text(sid),
            created=_seconds(meta.get("created_ms")),
            last_turn=_seconds(meta.get("last_turn_ms")),
            turns=int(meta.get("turns", 0)),
            expires_in=int(pttl) / 1000 if int(pttl) >= 0 else None,
        )

    async def mark_seen(self, conversation: str, event_id: str, *, ttl: int = DEDUP_TTL) -> bool:
        """Dedup: True the first time ``event_id`` is seen in ``ttl`` seconds, else False.

        Keyed under the conversation (one cluster slot with its other keys); a platform's
        event ids are unique, and a redelivered event maps to the same conversation.
        """
        seen = await SEEN(
            self.redis, [self.keys(conversation).seen(event_id)], [ttl], within=self.op_timeout
        )
        return bool(seen)


def _seconds(value: str | None) -> float | None:
    return int(value) / 1000 if value else None
