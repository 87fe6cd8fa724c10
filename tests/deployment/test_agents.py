"""Each file agent gets its own client from the one factory: its backend, key (from the
variable it names), URL, model, prompt and timeouts; unset values come from the
environment's settings."""

from __future__ import annotations

from core.agents.lyzr import LyzrAgent
from core.agents.openai_compat import OpenAIAgent
from core.agents.transport import StreamTimeouts
from core.config import Settings
from core.deployment.agents import factory_builder
from core.deployment.schema import AgentSpec


async def test_each_agent_gets_a_client_of_its_own_from_its_spec() -> None:
    settings = Settings(
        agent="lyzr", lyzr_api_key="env-key", lyzr_agent_id="env-agent",
        first_token_timeout=50.0, openai_model="env-model",
    )  # fmt: skip
    build = factory_builder(settings, {"SUPPORT_KEY": "support-key", "ENG_KEY": "eng-key"})
    support = build(
        AgentSpec(
            name="support", backend="lyzr", agent_id="a1", api_key_env="SUPPORT_KEY",
            base_url="http://127.0.0.1:9", idle_timeout=7.0,
        )
    )  # fmt: skip
    eng = build(
        AgentSpec(
            name="eng", backend="openai", api_key_env="ENG_KEY", base_url="http://127.0.0.1:8/v1",
            system_prompt="Be brief.", retries=0,
        )
    )  # fmt: skip
    plain = build(AgentSpec(name="plain", backend="lyzr", agent_id="a2"))
    try:
        assert isinstance(support, LyzrAgent) and isinstance(eng, OpenAIAgent)
        assert support.agent_id == "a1" and support.base_url == "http://127.0.0.1:9"
        assert support._headers["x-api-key"] == "support-key"
        assert support.timeouts == StreamTimeouts(10.0, 50.0, 7.0)  # idle from the file
        assert eng.model == "env-model" and eng.base_url == "http://127.0.0.1:8/v1"
        assert eng._headers["authorization"] == "Bearer eng-key"
        assert eng.system_prompt == "Be brief." and eng.retries == 0
        assert isinstance(plain, LyzrAgent) and plain._headers["x-api-key"] == "env-key"
        assert support._http is not eng._http is not plain._http  # a pool each
    finally:
        for agent in (support, eng, plain):
            await agent.aclose()
