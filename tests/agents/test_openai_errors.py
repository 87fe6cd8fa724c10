"""An OpenAI-compatible server's error inside its stream, and what the user then sees.

openai-python raises for a chunk whose ``error`` is set, with ``error["message"]`` as the
message (``src/openai/_streaming.py``, ``AsyncStream.__stream__`` →
``_raise_streaming_error``: ``raise APIError(message=message, ...)``); the user keeps the
text so far and reads the notice with those words, as for Lyzr's ``[ERROR]``
(tests/agents/test_lyzr_errors.py), and never internals.
"""

from __future__ import annotations

import pytest

from core import texts
from core.agents.history import MemoryHistory
from core.agents.openai_compat import OpenAIAgent
from core.errors import AgentServerError
from tests.agents.conftest import shown
from tests.agents.test_lyzr_errors import LONG
from tests.agents.test_openai import make_agent
from tests.servers.openai_server import OpenAIScript, OpenAIServer


@pytest.fixture
def agent(openai_server: OpenAIServer) -> OpenAIAgent:
    return make_agent(openai_server, MemoryHistory(4))


def failing(message: str) -> OpenAIScript:
    return OpenAIScript(tokens=["Partial", " answer"], error_after=2, error_message=message)


async def test_the_user_sees_the_partial_reply_and_the_servers_words(
    agent: OpenAIAgent, openai_server: OpenAIServer
) -> None:
    openai_server.enqueue(failing("The model is overloaded, try again in a minute"))
    outcome, texts = await shown(agent)
    assert outcome.status == "failed"
    assert texts == [
        "Partial answer\n\n⚠️ _The agent reported an error._ "
        "It said: “The model is overloaded, try again in a minute”"
    ]
    assert len(openai_server.completion_requests()) == 1  # a reported error is not retried


async def test_the_servers_words_are_cut_as_lyzrs_are(
    agent: OpenAIAgent, openai_server: OpenAIServer
) -> None:
    openai_server.enqueue(failing(LONG))
    with pytest.raises(AgentServerError) as raised:
        async for _ in agent.stream("hi", session_id="s", user_id="u"):
            pass
    assert raised.value.said == LONG.strip()[:500]


@pytest.mark.parametrize(
    "words",
    [
        'Traceback (most recent call last):\n  File "/srv/vllm/engine.py", line 80, in step\n'
        "    raise RuntimeError('CUDA out of memory')\nRuntimeError: CUDA out of memory",
        "HTTPConnectionPool(host='10.20.0.7', port=8000): Max retries exceeded with url: "
        "/v1/completions",
        "upstream http://llm-backend.internal:8080/v1 answered 502",
        # aiohttp's ClientConnectorError: a host and its port, no scheme.
        "Cannot connect to host vault.corp:8200 ssl:default [Connection refused]",
        "connect ECONNREFUSED ::1:5432",  # IPv6 loopback (Node's wording)
        "upstream [fd00::7]:9000 reset the connection",  # an IPv6 private address
    ],
    ids=["traceback", "ip", "internal-url", "host-port", "ipv6-loopback", "ipv6-private"],
)
async def test_internals_are_withheld_from_the_user_and_logged(
    agent: OpenAIAgent, openai_server: OpenAIServer, words: str
) -> None:
    openai_server.enqueue(failing(words))
    outcome, texts = await shown(agent)
    assert texts == ["Partial answer\n\n⚠️ _The agent reported an error._"]
    assert outcome.error is not None and words.splitlines()[-1] in outcome.error.detail


@pytest.mark.parametrize(
    "words",
    ["Rate limit reached, try again at 10:30", "serde_json::Error: expected value", "16:9 only"],
)
async def test_words_that_only_look_like_addresses_are_shown(
    agent: OpenAIAgent, openai_server: OpenAIServer, words: str
) -> None:
    openai_server.enqueue(failing(words))
    with pytest.raises(AgentServerError) as raised:
        async for _ in agent.stream("hi", session_id="s", user_id="u"):
            pass
    assert raised.value.said == words


async def test_llama_cpps_error_field_is_the_error_not_a_finished_reply(
    agent: OpenAIAgent, openai_server: OpenAIServer
) -> None:
    """llama.cpp's server reports a failure as an ``error: {...}`` line, then ends with
    ``data: [DONE]`` (tests/servers/openai_server.py): read as the SSE spec alone reads it,
    the field is dropped and the reply "finishes", cut short and without a word of why."""
    words = "the request exceeds the available context size, try increasing it"
    openai_server.enqueue(
        OpenAIScript(tokens=["Partial", " answer"], error_after=2, error_message=words,
                     error_field=True)
    )  # fmt: skip
    outcome, texts = await shown(agent)
    assert outcome.status == "failed"
    assert texts == [f"Partial answer\n\n⚠️ _The agent reported an error._ It said: “{words}”"]
    assert len(openai_server.completion_requests()) == 1


SECRET = "Incorrect API key provided: sk-proj-7f3a9c"


@pytest.mark.parametrize(
    ("status", "code", "notice"),
    [
        (401, "invalid_api_key", texts.AGENT_AUTH),
        # OpenAI's 403: "Country, region, or territory not supported" (its error-codes guide)
        (403, "unsupported_country_region_territory", texts.AGENT_FORBIDDEN),
        (404, "model_not_found", texts.AGENT_NOT_FOUND),
        (400, "context_length_exceeded", texts.AGENT_SERVER),
        (429, "insufficient_quota", texts.AGENT_CREDITS),
        (500, "server_error", texts.AGENT_SERVER),
    ],
)
async def test_an_http_error_shows_its_notice_never_its_body(
    openai_server: OpenAIServer, status: int, code: str, notice: str
) -> None:
    # The error body ({"error": {"message", "type", "param", "code"}}) is for the logs: the
    # user reads the notice alone, and the request went once.
    openai_server.default = OpenAIScript(status=status, error=SECRET, error_code=code)
    agent = make_agent(openai_server, MemoryHistory(4), retries=2)
    outcome, texts = await shown(agent)
    await agent.aclose()
    assert outcome.status == "failed"
    assert texts == [f"⚠️ _{notice}_"]
    assert len(openai_server.completion_requests()) == 1
