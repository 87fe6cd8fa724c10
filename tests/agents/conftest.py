"""Fixtures for the agent tests: the local Lyzr and OpenAI-format servers, and agents
pointed at them with short budgets and no backoff wait."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest

from core.agents.lyzr import LyzrAgent
from core.agents.reference import ReferenceCalls
from core.agents.transport import StreamTimeouts
from core.relay import Relay, ReplyOutcome
from tests.relay.helpers import SpyScheduler
from tests.servers.lyzr_server import LyzrServer
from tests.servers.openai_server import OpenAIServer
from tests.surfaces import THREAD, RecordingSurface

FAST = StreamTimeouts(connect=2.0, first_token=5.0, idle=2.0)


@pytest.fixture
async def lyzr_server() -> AsyncIterator[LyzrServer]:
    async with LyzrServer() as server:
        yield server


@pytest.fixture
async def openai_server() -> AsyncIterator[OpenAIServer]:
    async with OpenAIServer() as server:
        yield server


def quick(retries: int, options: Mapping[str, object]) -> dict[str, object]:
    """A test agent's transport options: short timeouts, ``retries`` tries more with next
    to no backoff; then ``options`` (a test's own)."""
    return {"timeouts": FAST, "retries": retries, "backoff": 0.01, **options}


def lyzr_agent(server: LyzrServer, **options: object) -> LyzrAgent:
    settings = quick(2, options)
    return LyzrAgent(
        api_key=server.api_key,
        agent_id="agent-1",
        base_url=server.base_url,
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
async def lyzr(lyzr_server: LyzrServer) -> AsyncIterator[LyzrAgent]:
    agent = lyzr_agent(lyzr_server)
    yield agent
    await agent.aclose()


async def shown(agent: ReferenceCalls) -> tuple[ReplyOutcome, list[str]]:
    """The agent's answer to "hi" as the relay shows it in a thread: how the reply ended,
    and the texts the thread shows."""
    surface = RecordingSurface()
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, agent.stream("hi", session_id="s", user_id="u")
    )
    return outcome, surface.texts()
