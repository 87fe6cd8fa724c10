"""A session's chat history, for backends that do not keep one themselves.

An OpenAI-compatible server is stateless: every request carries the conversation so far.
:class:`ChatHistory` keeps it in Redis, one list per session, trimmed to the last
``max_messages`` (an even number, so it always starts with a user message) and expiring
``ttl`` seconds after the last turn. :class:`MemoryHistory` is the same in-process, for the
demo agent and tests.

Only successful turns are recorded, user message and reply together in one round trip:
a failed or cancelled turn leaves no half-exchange behind that would confuse the next one.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Protocol

import redis.asyncio as aioredis

from core.config import DEFAULT_NAMESPACE
from core.redis import guarded

__all__ = ["ChatHistory", "HistoryStore", "MemoryHistory", "Message"]

Message = dict[str, str]
"""One chat message: ``{"role": "user" | "assistant", "content": ...}``."""


class HistoryStore(Protocol):
    async def load(self, session_id: str) -> list[Message]: ...

    async def append(self, session_id: str, user: str, assistant: str) -> None: ...


def _even(limit: int) -> int:
    return limit - limit % 2


class ChatHistory:
    """History in Redis under ``{namespace}:history:{session_id}``."""

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str = DEFAULT_NAMESPACE,
        max_messages: int = 40,
        *,
        ttl: float = 30 * 24 * 3600.0,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self.max_messages = _even(max_messages)
        self._ttl_ms = max(1, int(ttl * 1000))

    def key(self, session_id: str) -> str:
        return f"{self._namespace}:history:{session_id}"

    async def load(self, session_id: str) -> list[Message]:
        if self.max_messages <= 0:
            return []
        key = self.key(session_id)
        raw = await guarded("chat history read", self._redis.lrange(key, -self.max_messages, -1))
        return [message for item in raw if (message := _decode(item)) is not None]

    async def append(self, session_id: str, user: str, assistant: str) -> None:
        if self.max_messages <= 0:
            return
        key = self.key(session_id)
        entries = [_encode("user", user), _encode("assistant", assistant)]
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, *entries)
            pipe.ltrim(key, -self.max_messages, -1)
            pipe.pexpire(key, self._ttl_ms)
            await guarded("chat history save", pipe.execute())


class MemoryHistory:
    """History in this process only, bounded in sessions (LRU) and messages."""

    def __init__(self, max_messages: int = 40, *, max_sessions: int = 1024) -> None:
        self.max_messages = _even(max_messages)
        self._max_sessions = max_sessions
        self._sessions: OrderedDict[str, list[Message]] = OrderedDict()

    async def load(self, session_id: str) -> list[Message]:
        return list(self._sessions.get(session_id, ()))

    async def append(self, session_id: str, user: str, assistant: str) -> None:
        if self.max_messages <= 0:
            return
        messages = self._sessions.pop(session_id, [])
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
        self._sessions[session_id] = messages[-self.max_messages :]
        while len(self._sessions) > self._max_sessions:
            self._sessions.popitem(last=False)


def _encode(role: str, content: str) -> str:
    # ASCII escapes survive anything, even a lone surrogate from a JSON-decoded reply.
    return json.dumps({"role": role, "content": content})


def _decode(item: Any) -> Message | None:
    try:
        data = json.loads(item)
    except (TypeError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    role, content = data.get("role"), data.get("content")
    if not isinstance(role, str) or not isinstance(content, str):
        return None
    return {"role": role, "content": content}
