"""Fixtures for the session tests: gates on separate clients, as separate replicas would be."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.sessions.connect import redis_client
from core.sessions.gate import TurnGate
from core.sessions.keys import conversation_key
from core.turn import ThreadRef

GateFactory = Callable[..., TurnGate]


@pytest.fixture
async def make_gate(redis_url: str, namespace: str) -> AsyncIterator[GateFactory]:
    """Build TurnGates, each on its own Redis client (a replica), with fast test timings."""
    clients: list[aioredis.Redis] = []

    def make(**options: Any) -> TurnGate:
        client = redis_client(redis_url)
        clients.append(client)
        options.setdefault("namespace", namespace)
        options.setdefault("poll_interval", 0.02)
        options.setdefault("signal_interval", 0.05)
        options.setdefault("lock_ttl", 2.0)
        options.setdefault("session_ttl", 60.0)
        return TurnGate(client, **options)

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def conversation() -> str:
    return conversation_key(ThreadRef("slack", "T1", "C1", "1712.0001"), user="U1", is_dm=False)
