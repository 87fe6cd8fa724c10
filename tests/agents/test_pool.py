"""The agent's HTTP connection pool fits the concurrency the process serves (issue 18,
item 2), and a wait for a pooled connection is never reported as the agent being slow."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.agents.lyzr import LyzrAgent
from core.agents.transport import AgentBusyError, StreamTimeouts
from core.config import Settings
from core.errors import AgentTimeoutError
from tests.agents.conftest import FAST, lyzr_agent
from tests.agents.test_lyzr import collect, text_of
from tests.servers.lyzr_server import LyzrScript, LyzrServer

STREAMS = 150


async def test_150_concurrent_streams_are_all_answered(lyzr_server: LyzrServer) -> None:
    # Every stream is held open until all 150 are: a pool smaller than that cannot pass.
    lyzr_server.default = LyzrScript(tokens=["all", " here"], together=STREAMS)
    settings = Settings(
        agent="lyzr",
        lyzr_api_key=lyzr_server.api_key,
        lyzr_agent_id="agent-1",
        lyzr_api_base=lyzr_server.base_url,
        # Generous: the server holds every stream until all 150 are open, so one connect
        # that a CPU-starved machine makes late would hold the other 149 to their
        # first-token timeout (seen beside other jobs at load 20). Timeouts are tested below.
        connect_timeout=30.0,
        first_token_timeout=60.0,
    )
    agent = LyzrAgent.from_settings(settings)
    agent.fetch_artifacts = False
    replies = await asyncio.gather(
        *(collect(agent, session_id=f"s{n}") for n in range(STREAMS)), return_exceptions=True
    )
    await agent.aclose()
    failures = [r for r in replies if isinstance(r, BaseException)]
    assert failures == []
    assert all(text_of(r) == "all here" for r in replies if not isinstance(r, BaseException))
    assert lyzr_server.most_open == STREAMS
    assert len(lyzr_server.stream_requests()) == STREAMS


def test_the_pool_size_is_a_setting() -> None:
    assert Settings(agent="demo").agent_max_connections >= STREAMS
    assert Settings(agent="demo", agent_max_connections=7).agent_max_connections == 7


@pytest.mark.looptime
async def test_time_waiting_for_a_connection_is_not_the_agents(lyzr_server: LyzrServer) -> None:
    # One connection: the second reply waits 4 s for it, then its own first token takes 4 s.
    # The agent answered it within its 5-s first-token budget.
    lyzr_server.default = LyzrScript(tokens=["ok"], first_delay=4)
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=1))
    agent = lyzr_agent(lyzr_server, http=client, fetch_artifacts=False)
    first, second = await asyncio.gather(collect(agent), collect(agent, session_id="s2"))
    await client.aclose()
    assert text_of(first) == text_of(second) == "ok"
    assert len(lyzr_server.stream_requests()) == 2  # each sent once, neither timed out


@pytest.mark.looptime
async def test_a_pool_exhausted_for_too_long_is_not_called_slowness(
    lyzr_server: LyzrServer,
) -> None:
    lyzr_server.enqueue(LyzrScript(tokens=["slow"] * 10, delay=1.5))  # holds it for 15 s
    agent = lyzr_agent(
        lyzr_server, timeouts=FAST, max_connections=1, retries=0, fetch_artifacts=False
    )
    results = await asyncio.gather(
        collect(agent), collect(agent, session_id="s2"), return_exceptions=True
    )
    await agent.aclose()
    assert text_of(results[0]) == "slow" * 10  # type: ignore[arg-type]
    busy = results[1]
    assert isinstance(busy, AgentBusyError) and not isinstance(busy, AgentTimeoutError)
    assert "too long" not in busy.notice
    assert len(lyzr_server.stream_requests()) == 1  # the agent was never asked


def test_stream_timeouts_bound_the_pool_wait() -> None:
    assert StreamTimeouts(connect=1, first_token=7, idle=3).for_httpx().pool == 7
