"""The offline demo agent: every feature it exists to show."""

from __future__ import annotations

import asyncio
import re
from datetime import date
from enum import Enum

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel, Field

from core.agents.demo import DemoAgent
from core.agents.history import ChatHistory
from core.agents.schema_sample import sample_data
from core.errors import AgentServerError
from core.models import AgentStream


async def turn(
    agent: DemoAgent, message: str, session: str = "s", **kw: object
) -> list[AgentStream]:
    return [c async for c in agent.stream(message, session_id=session, user_id="u", **kw)]  # type: ignore[arg-type]


def text_of(chunks: list[AgentStream]) -> str:
    return "".join(c.content for c in chunks)


@pytest.fixture
def agent() -> DemoAgent:
    return DemoAgent(delay=0)


async def test_greeting_lists_the_keywords(agent: DemoAgent) -> None:
    text = text_of(await turn(agent, "hello"))
    for keyword in ["code", "long", "file", "error", "format", "think", "what did I say?"]:
        assert f"`{keyword}`" in text
    assert text == text_of(await turn(agent, "   "))  # an empty message gets help too


async def test_streams_token_by_token_with_a_final_chunk(agent: DemoAgent) -> None:
    chunks = await turn(agent, "repeat after me")
    assert len(chunks) > 5
    assert text_of(chunks).startswith("You said: repeat after me")
    assert chunks[-1].done and chunks[-1].content == ""
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))


async def test_code_reply_has_a_fenced_block_with_language(agent: DemoAgent) -> None:
    text = text_of(await turn(agent, "show me some code"))
    assert "```python\n" in text
    assert text.count("```") == 2
    assert len(text.split("\n\n")) >= 3  # several paragraphs


async def test_long_reply_exceeds_one_discord_and_one_slack_message(agent: DemoAgent) -> None:
    text = text_of(await turn(agent, "something long please"))
    assert len(text) > 4000
    assert "```python" in text
    assert text.rstrip().endswith("the whole reply arrived.")


async def test_file_reply_carries_a_fetchable_artifact(agent: DemoAgent, tmp_path) -> None:
    chunks = await turn(agent, "send a file")
    final = chunks[-1]
    assert final.has_files()
    (artifact,) = final.files
    assert artifact.url.startswith("data:text/csv;base64,")
    data = await artifact.fetch()
    assert data.startswith(b"keyword,what it shows\n")
    path = await artifact.adownload(tmp_path)
    assert path.name == "threadcast-demo.csv" and path.read_bytes() == data


async def test_error_keyword_fails_mid_stream_after_some_text(agent: DemoAgent) -> None:
    received: list[str] = []
    with pytest.raises(AgentServerError, match="on purpose"):
        async for chunk in agent.stream("show an error", session_id="s", user_id="u"):
            received.append(chunk.content)
    assert "".join(received).startswith("Starting an answer")


async def test_think_reply_hides_its_reasoning(agent: DemoAgent) -> None:
    chunks = await turn(agent, "think first")
    assert text_of(chunks).startswith("My reasoning was streamed first")
    assert "none of this should appear" not in text_of(chunks)
    assert "none of this should appear" in chunks[-1].metadata["reasoning"]


async def test_memory_per_session(agent: DemoAgent) -> None:
    assert "haven't told me" in text_of(await turn(agent, "what did I say?"))
    await turn(agent, "I live in Lisbon")
    await turn(agent, "I like jazz")
    text = text_of(await turn(agent, "what did I say before?"))
    assert "1. I live in Lisbon" in text and "2. I like jazz" in text
    assert "haven't told me" in text_of(await turn(agent, "what did I say?", session="other"))


async def test_memory_in_redis_survives_a_new_agent(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    first = DemoAgent(delay=0, history=ChatHistory(redis_client, namespace, 20))
    await turn(first, "remember the blue door")
    second = DemoAgent(delay=0, history=ChatHistory(redis_client, namespace, 20))
    assert "the blue door" in text_of(await turn(second, "what did I say?"))


async def test_failed_turns_are_not_remembered(agent: DemoAgent) -> None:
    with pytest.raises(AgentServerError):
        await turn(agent, "error please")
    assert "haven't told me" in text_of(await turn(agent, "what did I say?"))


async def test_replies_are_deterministic() -> None:
    one = [c.content for c in await turn(DemoAgent(delay=0), "code")]
    two = [c.content for c in await turn(DemoAgent(delay=0), "code")]
    assert one == two


@pytest.mark.looptime
async def test_tokens_are_paced_by_the_delay() -> None:
    loop = asyncio.get_running_loop()
    agent = DemoAgent(delay=0.5)
    started = loop.time()
    chunks = await turn(agent, "hello")
    assert loop.time() - started == pytest.approx(0.5 * (len(chunks) - 1), abs=0.01)


class Colour(Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    street: str
    number: int = Field(ge=1000)


class Profile(BaseModel):
    name: str = Field(description="Full name")
    age: int
    score: float
    active: bool
    tags: list[str]
    address: Address
    homes: list[Address] = Field(min_length=4)
    colour: Colour
    nickname: str | None
    born: date
    motto: str = Field(min_length=30)


def test_sample_data_validates_for_rich_models() -> None:
    profile = Profile.model_validate(sample_data(Profile))
    assert profile.name == "Demo full name"
    assert len(profile.tags) == 3 and len(profile.homes) == 4
    assert profile.address.number >= 1000
    assert sample_data(Profile) == sample_data(Profile)


async def test_structured_answer_for_a_response_format(agent: DemoAgent) -> None:
    chunks = await turn(agent, "tell me about someone", response_format=Profile)
    final = chunks[-1]
    assert isinstance(final.structured_data, Profile)
    assert "structured_error" not in final.metadata
    assert re.search(r"```json\n\{", text_of(chunks))
