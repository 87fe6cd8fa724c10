"""A message is never sent to the Lyzr agent twice (issue 10, item 1).

Only a request that provably never reached the agent is retried: the connection was refused
or timed out (nothing was sent), or the server answered 503 (it handles nothing for now). A
gateway's 502 or 504 came after it had passed the request on: the agent may be running it.
Everything else, a slow first token above all (Lyzr runs tools before it), may already be
running on Lyzr: sending it again would run the agent again.
"""

from __future__ import annotations

import pytest

from core.agents.transport import StreamTimeouts
from core.config import Settings
from core.errors import AgentServerError, AgentTimeoutError
from tests.agents.conftest import lyzr_agent
from tests.agents.test_lyzr import collect, text_of
from tests.servers.lyzr_server import LyzrScript, LyzrServer


def test_defaults_wait_as_long_as_lyzr_clients_do() -> None:
    # lyzr-kit waits 120 s and lyzr-adk's studio client 300 s for a reply (DESIGN §2).
    settings = Settings(agent="demo")
    assert (settings.first_token_timeout, settings.idle_timeout) == (180.0, 120.0)
    assert StreamTimeouts.from_settings(settings) == StreamTimeouts()
    assert (StreamTimeouts().first_token, StreamTimeouts().idle) == (180.0, 120.0)


@pytest.mark.looptime
async def test_a_slow_first_token_is_waited_for_and_sent_once(lyzr_server: LyzrServer) -> None:
    # Two and a half minutes of tools before the first token: a normal Lyzr run.
    lyzr_server.default = LyzrScript(tokens=["Found", " it."], first_delay=150)
    agent = lyzr_agent(lyzr_server, timeouts=StreamTimeouts())
    assert text_of(await collect(agent)) == "Found it."
    await agent.aclose()
    assert len(lyzr_server.stream_requests()) == 1


@pytest.mark.looptime
async def test_a_first_token_timeout_is_reported_never_resent(lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(tokens=["late"], first_delay=60)
    agent = lyzr_agent(lyzr_server, retries=2)  # first token within 5 s
    with pytest.raises(AgentTimeoutError, match="first token"):
        await collect(agent)
    await agent.aclose()
    assert len(lyzr_server.stream_requests()) == 1


@pytest.mark.looptime
async def test_silent_headers_are_not_resent(lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(header_delay=60)
    agent = lyzr_agent(lyzr_server, retries=2)
    with pytest.raises(AgentTimeoutError):
        await collect(agent)
    await agent.aclose()
    assert len(lyzr_server.stream_requests()) == 1


@pytest.mark.parametrize(("status", "attempts"), [(500, 1), (502, 1), (503, 3), (504, 1)])
async def test_only_gateway_refusals_are_retried(
    lyzr_server: LyzrServer, status: int, attempts: int
) -> None:
    # A 500 comes from the agent service itself: it may have started the run; a 502 or 504
    # from a gateway that passed the request on (a 504: the agent ran its tools longer
    # than the gateway waits). Only a 503 says nobody took it.
    lyzr_server.default = LyzrScript(status=status)
    agent = lyzr_agent(lyzr_server, retries=2)
    with pytest.raises(AgentServerError):
        await collect(agent)
    await agent.aclose()
    assert len(lyzr_server.stream_requests()) == attempts


async def test_a_gateway_refusal_then_success_answers_once(lyzr_server: LyzrServer) -> None:
    lyzr_server.enqueue(LyzrScript(status=503), LyzrScript(status=503))
    agent = lyzr_agent(lyzr_server, retries=2)
    assert text_of(await collect(agent, "again")) == "You said: again"
    await agent.aclose()
    assert len(lyzr_server.stream_requests()) == 3
