"""Build the configured agent (``THREADCAST_AGENT``; see :class:`core.config.Settings`)."""

from __future__ import annotations

import httpx
import redis.asyncio as aioredis

from core.agents.demo import DemoAgent
from core.agents.history import ChatHistory, HistoryStore, MemoryHistory
from core.agents.lyzr import LyzrAgent
from core.agents.openai_compat import OpenAIAgent
from core.agents.reference import ReferenceCalls
from core.config import DEFAULT_NAMESPACE, Settings
from core.errors import ConfigError

__all__ = ["HISTORY_NAMESPACE", "make_agent"]

HISTORY_NAMESPACE = DEFAULT_NAMESPACE


def make_agent(
    settings: Settings,
    *,
    redis: aioredis.Redis | None = None,
    http: httpx.AsyncClient | None = None,
    namespace: str = HISTORY_NAMESPACE,
) -> ReferenceCalls:
    """The agent ``settings`` select: an :class:`~core.agents.base.Agent` that also has
    the reference ``run``/``arun`` calls. With ``redis``, what the agent keeps per session
    (OpenAI-compatible and demo histories, the Lyzr files already delivered) lives there,
    under ``namespace``, and survives restarts; without, in this process.
    """
    kind = settings.agent_kind
    if kind == "lyzr":
        return LyzrAgent.from_settings(settings, http=http, redis=redis, namespace=namespace)
    history: HistoryStore
    if redis is not None:
        history = ChatHistory(
            redis, namespace, settings.openai_history_messages, ttl=settings.session_ttl
        )
    else:
        history = MemoryHistory(settings.openai_history_messages)
    if kind == "openai":
        return OpenAIAgent.from_settings(settings, history=history, http=http)
    if kind == "demo":
        return DemoAgent(history=history)
    raise ConfigError("THREADCAST_AGENT", f"unknown agent {kind!r} (lyzr, openai or demo)")
