"""The last message handed to the agent, per conversation, in Redis.

A follow-up must not repeat the thread, across replicas and restarts: the marker records,
per conversation, the session it belongs to and the id of the last message the agent was
given. A new session (``new`` / ``/new``) does not match the marker any more, so the next
turn gets the thread again, as an agent with a fresh memory needs. Turns of one
conversation run under its lock (:mod:`core.sessions.gate`), so a plain GET and SET suffice.
Both are safe to repeat, so a late answer (a burst: the connection pool busy, the event loop
starved) is asked for again, up to ``patience``, before the turn gets the store notice.
"""

from __future__ import annotations

import json

import redis.asyncio as aioredis

from core.redis import DEFAULT_OP_TIMEOUT, REDIS_PATIENCE, guarded, patiently

__all__ = ["ContextMarker"]


class ContextMarker:
    """``{namespace}:context:{conversation}`` → ``{"session": id, "last": message id}``."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        ttl: float,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        patience: float = REDIS_PATIENCE,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._ttl_ms = max(1, int(ttl * 1000))
        self._op_timeout = op_timeout
        self._patience = patience

    def key(self, conversation: str) -> str:
        return f"{self._namespace}:context:{conversation}"

    async def last(self, conversation: str, session_id: str) -> str | None:
        """The last message this session was given, or None (never, or another session).
        Raises SessionStoreError when Redis fails (or stays silent past ``patience``)."""
        key = self.key(conversation)
        raw = await patiently(
            lambda: guarded("context marker read", self._redis.get(key), within=self._op_timeout),
            patience=self._patience,
        )
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("session") != session_id:
            return None
        last = data.get("last")
        return last if isinstance(last, str) else None

    async def handed(self, conversation: str, session_id: str, message_id: str) -> None:
        """Record that the agent of ``session_id`` has been given ``message_id``."""
        key = self.key(conversation)
        value = json.dumps({"session": session_id, "last": message_id})
        await patiently(
            lambda: guarded(
                "context marker save",
                self._redis.set(key, value, px=self._ttl_ms),
                within=self._op_timeout,
            ),
            patience=self._patience,
        )
