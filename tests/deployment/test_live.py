"""Reloading: a valid file is put in force whole, agents whose spec did not change keep
their client, a dropped agent's client closes after its last reply; an invalid file keeps
the configuration in force and says why."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from core.agents.demo import DemoAgent
from core.config import Settings
from core.deployment.agents import AgentPool
from core.deployment.live import LiveDeployment
from core.deployment.schema import AgentSpec

ONE = '[[agents]]\nname = "a"\nbackend = "demo"\n'
TWO = ONE + '[[agents]]\nname = "b"\nbackend = "demo"\n[[routes]]\nchannel = "C1"\nagent = "b"\n'


class ClosingAgent(DemoAgent):
    """The demo agent, remembering whether it was closed."""

    def __init__(self, spec: AgentSpec) -> None:
        super().__init__()
        self.spec = spec
        self.closed = False

    async def aclose(self) -> None:
        self.closed = True


def rewrite(path: Path, text: str) -> None:
    """Edit the file as an operator would (a small local write, before the reload)."""
    path.write_text(text)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "threadcast.toml"
    path.write_text(ONE)
    return path


async def test_a_valid_file_is_put_in_force_and_unchanged_agents_keep_their_client(
    config_file: Path,
) -> None:
    built: list[ClosingAgent] = []

    def build(spec: AgentSpec) -> ClosingAgent:
        built.append(ClosingAgent(spec))
        return built[-1]

    live = LiveDeployment(Settings(agent="demo", config_file=config_file), AgentPool(build), {})
    first = await live.open()
    assert list(first.agents) == ["a"]
    rewrite(config_file, TWO)
    assert await live.reload()
    second = live.current
    assert list(second.agents) == ["a", "b"] and len(second.deployment.config.routes) == 1
    assert second.agent("a") is first.agent("a")  # same spec, same client
    assert [agent.spec.name for agent in built] == ["a", "b"]
    assert first.agents.keys() == {"a"}  # the old snapshot is untouched
    await live.aclose()
    assert all(agent.closed for agent in built)


async def test_a_dropped_agent_closes_after_its_last_reply(config_file: Path) -> None:
    rewrite(config_file, TWO)
    agents: dict[str, ClosingAgent] = {}

    def build(spec: AgentSpec) -> ClosingAgent:
        agents[spec.name] = ClosingAgent(spec)
        return agents[spec.name]

    live = LiveDeployment(Settings(agent="demo", config_file=config_file), AgentPool(build), {})
    snapshot = await live.open()
    async with snapshot.agent("b").lease():
        rewrite(config_file, ONE)
        assert await live.reload()
        assert not agents["b"].closed  # a reply still streams from it
    assert agents["b"].closed
    assert not agents["a"].closed
    await live.aclose()


async def test_a_turn_that_read_its_snapshot_before_a_reload_gets_an_open_client(
    config_file: Path,
) -> None:
    """A turn reads the snapshot when it starts and leases its agent later, once its turn
    comes (queued behind another, its quota and route asked of Redis): a reload meanwhile
    that drops the agent must not leave it a closed client."""
    rewrite(config_file, TWO)
    built: list[ClosingAgent] = []

    def build(spec: AgentSpec) -> ClosingAgent:
        built.append(ClosingAgent(spec))
        return built[-1]

    live = LiveDeployment(Settings(agent="demo", config_file=config_file), AgentPool(build), {})
    snapshot = await live.open()  # the turn starts
    rewrite(config_file, ONE)
    assert await live.reload()  # while it waits
    async with snapshot.agent("b").lease() as agent:
        assert isinstance(agent, ClosingAgent) and agent.spec.name == "b"
        assert not agent.closed
    assert all(agent.closed for agent in built if agent.spec.name == "b")  # after its reply
    await live.aclose()


async def test_an_invalid_file_keeps_the_configuration_and_logs_why(
    config_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    live = LiveDeployment(
        Settings(agent="demo", config_file=config_file), AgentPool(ClosingAgent), {}
    )
    before = await live.open()
    rewrite(config_file, ONE + '[[routes]]\nagent = "suport"\n')
    with caplog.at_level(logging.ERROR, logger="core.deployment.live"):
        assert not await live.reload()
    assert live.current is before
    (record,) = caplog.records
    assert "previous one stays in force" in record.getMessage()
    assert "routes[0].agent: unknown agent 'suport'" in record.getMessage()
    await live.aclose()
