"""What ``status`` commands show about a conversation: its agent, age and turns (no side
effects: the session's TTL is not touched)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.redis import guarded, text
from core.sessions.gate import TurnGate

__all__ = ["ConversationStatus", "conversation_status", "describe"]


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


def describe(status: ConversationStatus | None) -> str:
    """One Markdown line for the person who asked."""
    if status is None:
        return "_No conversation yet: mention me to start one._"
    agent = f"`{status.agent}`" if status.agent else "the default agent"
    age = "" if status.age_seconds is None else f", started {_ago(status.age_seconds)} ago"
    turns = f"{status.turns} turn" + ("" if status.turns == 1 else "s")
    return f"_Agent {agent}{age}, {turns}._"


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"
