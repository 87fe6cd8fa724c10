"""The OpenAI-compatible agent against the local server, with its history in real Redis."""

from __future__ import annotations

import json

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel

from core.agents.history import ChatHistory, MemoryHistory
from core.agents.openai_compat import OpenAIAgent
from core.errors import (
    AgentAuthError,
    AgentCreditsError,
    AgentError,
    AgentProtocolError,
    AgentServerError,
    AgentTimeoutError,
)
from core.models import AgentStream
from tests.agents.conftest import quick
from tests.servers.openai_server import OpenAIScript, OpenAIServer


@pytest.fixture
async def history(redis_client: aioredis.Redis, namespace: str) -> ChatHistory:
    return ChatHistory(redis_client, namespace, 4, ttl=60)


def make_agent(
    server: OpenAIServer, history: ChatHistory | MemoryHistory, **options: object
) -> OpenAIAgent:
    settings = quick(1, options)
    return OpenAIAgent(
        base_url=server.base_url,
        model="test-model",
        api_key=server.api_key,
        history=history,
        **settings,  # type: ignore[arg-type]
    )


@pytest.fixture
async def agent(openai_server: OpenAIServer, history: ChatHistory) -> OpenAIAgent:
    return make_agent(openai_server, history)


async def turn(
    agent: OpenAIAgent, message: str, session: str = "s1", **kw: object
) -> list[AgentStream]:
    options: dict[str, object] = {"session_id": session, "user_id": "u1"}
    options.update(kw)
    return [c async for c in agent.stream(message, **options)]  # type: ignore[arg-type]


def text_of(chunks: list[AgentStream]) -> str:
    return "".join(c.content for c in chunks)


async def test_request_shape_and_streamed_text(
    agent: OpenAIAgent, openai_server: OpenAIServer
) -> None:
    chunks = await turn(agent, "hello")
    request = openai_server.completion_requests()[0]
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.json["stream"] is True
    assert request.json["model"] == "test-model"
    assert request.json["messages"] == [{"role": "user", "content": "hello"}]
    assert text_of(chunks) == "You said: hello"
    assert chunks[-1].done and chunks[-1].metadata["finish_reason"] == "stop"
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))


async def test_second_turn_sends_the_first_turn(
    agent: OpenAIAgent, openai_server: OpenAIServer
) -> None:
    await turn(agent, "my name is Ada")
    second = await turn(agent, "what did I say?")
    assert text_of(second) == "You said: my name is Ada."
    assert openai_server.completion_requests()[1].json["messages"] == [
        {"role": "user", "content": "my name is Ada"},
        {"role": "assistant", "content": "You said: my name is Ada"},
        {"role": "user", "content": "what did I say?"},
    ]
    other = await turn(agent, "what did I say?", session="s2")
    assert text_of(other) == "You said: nothing yet."


async def test_history_is_bounded_and_expires(
    agent: OpenAIAgent, history: ChatHistory, redis_client: aioredis.Redis
) -> None:
    for word in ["one", "two", "three"]:
        await turn(agent, word)
    stored = await history.load("s1")
    assert [m["content"] for m in stored] == ["two", "You said: two", "three", "You said: three"]
    assert await redis_client.llen(history.key("s1")) == 4
    assert 0 < await redis_client.pttl(history.key("s1")) <= 60_000


async def test_a_failed_turn_appends_nothing(
    agent: OpenAIAgent, openai_server: OpenAIServer, history: ChatHistory
) -> None:
    await turn(agent, "kept")
    openai_server.enqueue(OpenAIScript(tokens=["half", " a"], error_after=1))
    with pytest.raises(AgentServerError, match="model exploded"):
        await turn(agent, "lost")
    assert [m["content"] for m in await history.load("s1")] == ["kept", "You said: kept"]


async def test_closing_early_appends_nothing(agent: OpenAIAgent, history: ChatHistory) -> None:
    stream = agent.stream("cut short", session_id="s1", user_id="u")
    await anext(stream)
    await stream.aclose()
    assert await history.load("s1") == []


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AgentAuthError), (429, AgentCreditsError), (500, AgentServerError)],
)
async def test_http_errors(
    openai_server: OpenAIServer, history: ChatHistory, status: int, error: type[AgentError]
) -> None:
    openai_server.default = OpenAIScript(status=status, error=f"problem {status}")
    agent = make_agent(openai_server, history, retries=0)
    with pytest.raises(error, match=f"problem {status}"):
        await turn(agent, "hi")
    await agent.aclose()


async def test_retry_before_text_only(openai_server: OpenAIServer, agent: OpenAIAgent) -> None:
    openai_server.enqueue(OpenAIScript(status=503))
    assert text_of(await turn(agent, "hi")) == "You said: hi"
    assert len(openai_server.completion_requests()) == 2


async def test_missing_done(openai_server: OpenAIServer, agent: OpenAIAgent) -> None:
    # Cut before the model's last chunk: neither a finish_reason nor [DONE] came.
    openai_server.default = OpenAIScript(tokens=["cut"], finish=None, done=False)
    received: list[str] = []
    with pytest.raises(AgentProtocolError, match=r"\[DONE\]"):
        async for chunk in agent.stream("hi", session_id="s1", user_id="u1"):
            received.append(chunk.content)
    assert received == ["cut"]  # the partial text still went first


@pytest.mark.parametrize("finish", ["stop", "length"])
async def test_a_finish_reason_then_the_end_of_the_body_is_a_complete_reply(
    openai_server: OpenAIServer, agent: OpenAIAgent, history: ChatHistory, finish: str
) -> None:
    # Servers that end the body after the last chunk without "data: [DONE]" (llama.cpp's
    # /chat/completions before ggml-org/llama.cpp#9459, TGI before
    # huggingface/text-generation-inference#2221, ik_llama.cpp#467): the finish_reason is
    # the model saying it is done, as openai-python reads it (it never needs [DONE]).
    # Every such reply used to end with "cut off or unreadable".
    openai_server.default = OpenAIScript(tokens=["All", " here."], finish=finish, done=False)
    chunks = await turn(agent, "hi")
    assert text_of(chunks) == "All here."
    assert chunks[-1].done and chunks[-1].metadata["finish_reason"] == finish
    assert [m["content"] for m in await history.load("s1")] == ["hi", "All here."]


# Fake time only with in-process peers: a real Redis answering "late" in virtual time
# would trip the client's socket timeout, so this one keeps its history in memory.
@pytest.mark.looptime
async def test_idle_timeout(openai_server: OpenAIServer) -> None:
    agent = make_agent(openai_server, MemoryHistory())
    openai_server.default = OpenAIScript(tokens=["a", "b"], stall_after=1, stall=30)
    received = []
    with pytest.raises(AgentTimeoutError, match="no new token"):
        async for chunk in agent.stream("hi", session_id="s", user_id="u"):
            received.append(chunk.content)
    assert received == ["a"]
    assert len(openai_server.completion_requests()) == 1
    assert await agent.history.load("s") == []


@pytest.mark.looptime  # the server's pauses between pieces pass in virtual time
@pytest.mark.parametrize("chunk_size", [1, 3])
async def test_multibyte_text_split_across_reads(
    openai_server: OpenAIServer, chunk_size: int
) -> None:
    agent = make_agent(openai_server, MemoryHistory())
    tokens = ["naïve ", "日本語 ", "😀\n", '"quotes"']
    openai_server.default = OpenAIScript(tokens=tokens, chunk_size=chunk_size)
    assert [c.content for c in (await turn(agent, "hi"))[:-1]] == tokens


class Answer(BaseModel):
    city: str
    population: int


async def test_structured_output(openai_server: OpenAIServer, agent: OpenAIAgent) -> None:
    openai_server.default = OpenAIScript(tokens=['{"city": "Paris",', ' "population": 2100000}'])
    chunks = await turn(agent, "biggest city?", response_format=Answer)
    assert chunks[-1].structured_data == Answer(city="Paris", population=2_100_000)
    body = openai_server.completion_requests()[0].json
    assert body["response_format"] == {"type": "json_object"}
    assert body["messages"][0]["role"] == "system" and "JSON" in body["messages"][0]["content"]


async def test_structured_parse_failure(openai_server: OpenAIServer, agent: OpenAIAgent) -> None:
    openai_server.default = OpenAIScript(tokens=['{"city": "Paris"}'])
    chunks = await turn(agent, "biggest city?", response_format=Answer)
    assert chunks[-1].structured_data is None
    assert "population" in chunks[-1].metadata["structured_error"]
    assert text_of(chunks) == '{"city": "Paris"}'


async def test_reasoning_goes_to_metadata(openai_server: OpenAIServer, agent: OpenAIAgent) -> None:
    openai_server.default = OpenAIScript(tokens=["42"], reasoning=["think", " hard"])
    chunks = await turn(agent, "answer?")
    assert text_of(chunks) == "42"
    assert chunks[-1].metadata["reasoning"] == "think hard"


async def test_history_entries_are_json_in_the_namespace(
    agent: OpenAIAgent, redis_client: aioredis.Redis, namespace: str
) -> None:
    await turn(agent, "hi")
    raw = await redis_client.lrange(f"{namespace}:history:s1", 0, -1)
    assert [json.loads(item)["role"] for item in raw] == ["user", "assistant"]


@pytest.mark.parametrize("framing", ["lf", "crlf", "cr", "multiline"])
async def test_every_event_stream_framing_reads_the_same(
    agent: OpenAIAgent, openai_server: OpenAIServer, framing: str
) -> None:
    # The SSE spec lets a server end lines in CRLF or a bare CR, send ":" keep-alive
    # comments and spread one event's data over several "data:" lines (openai-python's
    # SSEDecoder joins them).
    openai_server.enqueue(OpenAIScript(framing=framing, comments=True, chunk_size=7))  # type: ignore[arg-type]
    chunks = await turn(agent, "hello")
    assert text_of(chunks) == "You said: hello"
    assert chunks[-1].metadata["finish_reason"] == "stop"


@pytest.mark.parametrize("chunk_size", [None, 1])
async def test_a_byte_order_mark_does_not_lose_the_first_chunk(
    agent: OpenAIAgent, openai_server: OpenAIServer, chunk_size: int | None
) -> None:
    # The BOM used to hide the first event's "data:" field: its chunk was dropped, and
    # with no role-only chunk first, the reply began at its second word.
    openai_server.enqueue(
        OpenAIScript(tokens=["First", " second"], bom=True, role_chunk=False, chunk_size=chunk_size)
    )
    assert text_of(await turn(agent, "hello")) == "First second"


async def test_a_cut_short_reply_keeps_its_finish_reason(
    agent: OpenAIAgent, openai_server: OpenAIServer, history: ChatHistory
) -> None:
    openai_server.enqueue(OpenAIScript(tokens=["The answer is", " long"], finish="length"))
    chunks = await turn(agent, "explain")
    assert text_of(chunks) == "The answer is long"
    assert chunks[-1].metadata["finish_reason"] == "length"
    # What the model said is remembered, so "continue" can follow on from it.
    assert [m["content"] for m in await history.load("s1")] == ["explain", "The answer is long"]


async def test_a_rate_limited_request_is_sent_again_after_the_wait(
    openai_server: OpenAIServer, agent: OpenAIAgent
) -> None:
    # A 429 is a refusal before the model ran: openai-python retries it after
    # retry-after-ms / retry-after, and so does this backend (within AGENT_RETRIES).
    limited = OpenAIScript(
        status=429, error="Rate limit reached for requests", error_code="rate_limit_exceeded",
        error_headers={"retry-after-ms": "20"},
    )  # fmt: skip
    openai_server.enqueue(limited)
    assert text_of(await turn(agent, "hi")) == "You said: hi"
    assert len(openai_server.completion_requests()) == 2


async def test_an_exhausted_quota_is_not_retried(
    openai_server: OpenAIServer, history: ChatHistory
) -> None:
    agent = make_agent(openai_server, history, retries=2)
    openai_server.default = OpenAIScript(
        status=429, error="You exceeded your current quota", error_code="insufficient_quota"
    )
    with pytest.raises(AgentCreditsError, match="quota"):
        await turn(agent, "hi")
    assert len(openai_server.completion_requests()) == 1
    await agent.aclose()


# Retry-After in seconds, or as an HTTP-date (RFC 9110 §10.2.3), as openai-python reads it:
# read as seconds only, the date's wait was none, and the request was sent twice more.
@pytest.mark.parametrize("wait", ["3600", "Fri, 31 Dec 2099 23:59:59 GMT"])
async def test_a_long_rate_limit_is_not_waited_out(
    wait: str, openai_server: OpenAIServer, history: ChatHistory
) -> None:
    agent = make_agent(openai_server, history, retries=2)
    openai_server.default = OpenAIScript(
        status=429, error="Rate limit reached", error_code="rate_limit_exceeded",
        error_headers={"retry-after": wait},
    )  # fmt: skip
    with pytest.raises(AgentCreditsError, match="Rate limit"):
        await turn(agent, "hi")
    assert len(openai_server.completion_requests()) == 1
    await agent.aclose()


async def test_a_refusal_is_the_reply(
    agent: OpenAIAgent, openai_server: OpenAIServer, history: ChatHistory
) -> None:
    # A model that refuses streams its words in delta.refusal, content null: dropped, the
    # user read "The agent sent an empty reply." instead of why.
    words = ["I'm sorry,", " I can't help with that."]
    openai_server.enqueue(OpenAIScript(tokens=words, refusal=True))
    chunks = await turn(agent, "do something bad")
    assert text_of(chunks) == "I'm sorry, I can't help with that."
    assert [m["content"] for m in await history.load("s1")][-1] == text_of(chunks)


async def test_a_refusal_that_names_a_long_wait_is_not_sent_again_at_once(
    openai_server: OpenAIServer, history: ChatHistory
) -> None:
    # A 503 was refused before the model ran, so it may be sent again, but not sooner than
    # the server asked (RFC 9110 §15.6.4): it was sent twice more within a second.
    agent = make_agent(openai_server, history, retries=2)
    openai_server.default = OpenAIScript(
        status=503, error="Overloaded", error_headers={"retry-after": "120"}
    )
    with pytest.raises(AgentServerError, match="Overloaded"):
        await turn(agent, "hi")
    assert len(openai_server.completion_requests()) == 1
    await agent.aclose()


async def test_a_refusal_is_sent_again_after_the_wait_it_names(
    openai_server: OpenAIServer, agent: OpenAIAgent
) -> None:
    openai_server.enqueue(OpenAIScript(status=503, error_headers={"retry-after-ms": "20"}))
    assert text_of(await turn(agent, "hi")) == "You said: hi"
    assert len(openai_server.completion_requests()) == 2
