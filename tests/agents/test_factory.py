"""make_agent picks the backend the settings name, wired to Redis when given."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from core.agents.demo import DemoAgent
from core.agents.factory import make_agent
from core.agents.history import ChatHistory, MemoryHistory
from core.agents.lyzr import LyzrAgent
from core.agents.openai_compat import OpenAIAgent
from core.config import load_settings
from core.errors import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ["THREADCAST_AGENT", "LYZR_API_KEY", "LYZR_AGENT_ID", "OPENAI_API_KEY"]:
        monkeypatch.delenv(name, raising=False)


async def test_demo_is_the_default() -> None:
    agent = make_agent(load_settings())
    assert isinstance(agent, DemoAgent)
    assert isinstance(agent.history, MemoryHistory)


async def test_lyzr_when_a_key_is_set() -> None:
    settings = load_settings(
        lyzr_api_key="k", lyzr_agent_id="a1", lyzr_api_base="http://x/", idle_timeout=7
    )
    agent = make_agent(settings)
    assert isinstance(agent, LyzrAgent)
    assert (agent.agent_id, agent.base_url, agent.timeouts.idle) == ("a1", "http://x", 7)
    await agent.aclose()


async def test_openai_keeps_history_in_redis(redis_client: aioredis.Redis) -> None:
    settings = load_settings(agent="openai", openai_model="m", openai_history_messages=6)
    agent = make_agent(settings, redis=redis_client)
    assert isinstance(agent, OpenAIAgent)
    assert isinstance(agent.history, ChatHistory)
    assert agent.history.max_messages == 6
    await agent.aclose()


async def test_demo_remembers_in_redis_when_given(redis_client: aioredis.Redis) -> None:
    agent = make_agent(load_settings(agent="demo"), redis=redis_client)
    assert isinstance(agent, DemoAgent) and isinstance(agent.history, ChatHistory)


def test_missing_agent_id_names_the_variable() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(agent="lyzr", lyzr_api_key="k")
    assert caught.value.variable == "LYZR_AGENT_ID"
