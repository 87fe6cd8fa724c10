"""What ``status`` commands show about a conversation: its agent, age and turns (no side
effects: the session's TTL is not touched). The line shown is
:func:`core.texts.describe_status`."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.redis import guarded, text
from core.sessions.gate import TurnGate

__all__ = ["ConversationStatus", "conversation_status"]


@dataclass(frozen=True, slots=True)
class ConversationStatus:
    agent: str | None
    age_seconds: float | None
    turns: int


async def conversation_status(gate: TurnGate, conversation: str) -> ConversationStatus | None:
    """None when the conversation has no session (never started, reset or expired)."""
    sessions = gate.sessions
    info = await sessions.info(conversation)
    if info is None:
        return None
    meta = sessions.keys(conversation).meta
    agent = await guarded("conversation agent", gate.redis.hget(meta, "agent"))
    age = time.time() - info.created if info.created is not None else None
    return ConversationStatus(None if agent is None else text(agent), age, info.turns)
