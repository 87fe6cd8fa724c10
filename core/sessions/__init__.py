"""Sessions on Redis: conversation keys, session ids, dedup, and ordered turns.

The responder uses :class:`TurnGate` (``enter``, ``cancel``, ``new_session``); the rest is
what it is built from. Without ``REDIS_URL``, :func:`open_redis` starts the embedded server
(``core.sessions.embedded``, imported only then: the container image does not carry it).
"""

from __future__ import annotations

from core.sessions.connect import open_redis, redact_url, redis_client
from core.sessions.gate import GateTimeout, Ticket, TurnGate
from core.sessions.keys import (
    DEFAULT_NAMESPACE,
    ConversationRef,
    SessionKeys,
    conversation_key,
    parse_conversation_key,
)
from core.sessions.lock import Lock
from core.sessions.store import SessionInfo, SessionStore

__all__ = [
    "DEFAULT_NAMESPACE",
    "ConversationRef",
    "GateTimeout",
    "Lock",
    "SessionInfo",
    "SessionKeys",
    "SessionStore",
    "Ticket",
    "TurnGate",
    "conversation_key",
    "open_redis",
    "parse_conversation_key",
    "redact_url",
    "redis_client",
]
