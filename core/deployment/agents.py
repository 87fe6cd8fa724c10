"""The agent clients of one process: one per configured agent, kept across reloads.

Each :class:`~core.deployment.schema.AgentSpec` becomes a client of its own (its HTTP
pool, timeouts, retries and backend) built by the one agent factory
(:func:`core.agents.factory.make_agent`) from the process's settings with the agent's
values laid over them. A reload reuses the client of every agent whose spec did not
change; a client no longer configured is *retired*: closed as soon as the last reply
streaming from it ends (a reply never loses its connection to a reload).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

from pydantic import SecretStr

from core.agents.base import Agent
from core.agents.factory import make_agent
from core.agents.openai_compat import OpenAIAgent
from core.config import Settings
from core.deployment.schema import AgentSpec

__all__ = ["AgentBuilder", "AgentPool", "PooledAgent", "agent_settings", "factory_builder"]

log = logging.getLogger(__name__)

AgentBuilder = Callable[[AgentSpec], Agent]
"""Builds the client of one agent (the factory, or a test's scripted agent)."""


def agent_settings(settings: Settings, spec: AgentSpec, environ: Mapping[str, str]) -> Settings:
    """``settings`` as this agent sees them: its backend, key, URL, model and timeouts."""
    update: dict[str, Any] = {"agent": spec.backend}
    named = environ.get(spec.api_key_env, "").strip() if spec.api_key_env else ""
    key = SecretStr(named) if named else None  # load() refuses a named variable left empty
    if spec.backend == "lyzr":
        update["lyzr_agent_id"] = spec.agent_id
        _put(update, "lyzr_api_key", key)
        _put(update, "lyzr_api_base", spec.base_url)
    elif spec.backend == "openai":
        _put(update, "openai_api_key", key)
        _put(update, "openai_base_url", spec.base_url)
        _put(update, "openai_model", spec.model)
    _put(update, "openai_history_messages", spec.history_messages)
    _put(update, "connect_timeout", spec.connect_timeout)
    _put(update, "first_token_timeout", spec.first_token_timeout)
    _put(update, "idle_timeout", spec.idle_timeout)
    _put(update, "agent_retries", spec.retries)
    _put(update, "agent_max_connections", spec.max_connections)
    return settings.model_copy(update=update)


def _put(update: dict[str, Any], field: str, value: object) -> None:
    if value is not None:
        update[field] = value


def factory_builder(settings: Settings, environ: Mapping[str, str], **factory: Any) -> AgentBuilder:
    """The production builder: :func:`make_agent` with the agent's settings."""

    def build(spec: AgentSpec) -> Agent:
        agent = make_agent(agent_settings(settings, spec, environ), **factory)
        if spec.system_prompt is not None and isinstance(agent, OpenAIAgent):
            agent.system_prompt = spec.system_prompt  # not an environment setting
        return agent

    return build


class PooledAgent:
    """One agent's client and the replies streaming from it now."""

    __slots__ = ("_build", "agent", "closed", "name", "replies", "retired", "spec")

    def __init__(self, spec: AgentSpec, agent: Agent, build: AgentBuilder | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.agent = agent
        self.replies = 0
        self.retired = False
        self.closed = False
        self._build = build

    @contextlib.asynccontextmanager
    async def lease(self) -> AsyncIterator[Agent]:
        """Use the client for one reply; a retired client closes after its last reply.

        A turn reads its snapshot when it starts and leases its agent only once its turn
        comes: a reload meanwhile may have retired and closed the client while idle. That
        turn gets a client built anew (closed again after its reply), not a closed one."""
        if self.closed and self._build is not None:
            self.agent, self.closed = self._build(self.spec), False
        self.replies += 1
        try:
            yield self.agent
        finally:
            self.replies -= 1
            if self.retired and self.replies == 0:
                await _close(self)

    def __repr__(self) -> str:
        state = " retired" if self.retired else ""
        return f"<PooledAgent {self.name} {self.spec.backend} replies={self.replies}{state}>"


class AgentPool:
    """Every agent client the process has, keyed by spec (see the module docstring)."""

    def __init__(self, build: AgentBuilder) -> None:
        self._build = build
        self._live: dict[AgentSpec, PooledAgent] = {}

    async def provide(
        self, specs: Sequence[AgentSpec]
    ) -> tuple[dict[str, PooledAgent], list[PooledAgent]]:
        """Clients for ``specs`` (reused when unchanged, built when new), and the clients
        they leave unused. Nothing in force is closed here: call :meth:`retire` once the
        new set is in force. A builder failure leaves the pool as it was."""
        fresh: dict[AgentSpec, PooledAgent] = {}
        try:
            for spec in specs:
                fresh[spec] = self._live.get(spec) or PooledAgent(
                    spec, self._build(spec), self._build
                )
        except BaseException:
            await self.retire([p for s, p in fresh.items() if s not in self._live])
            raise
        unused = [pooled for spec, pooled in self._live.items() if spec not in fresh]
        self._live = fresh
        return {pooled.name: pooled for pooled in fresh.values()}, unused

    @staticmethod
    async def retire(unused: Sequence[PooledAgent]) -> None:
        """Close each client now if idle, else after its last reply."""
        for pooled in unused:
            pooled.retired = True
            if pooled.replies == 0:
                await _close(pooled)

    async def aclose(self) -> None:
        live, self._live = list(self._live.values()), {}
        await self.retire(live)


async def _close(pooled: PooledAgent) -> None:
    pooled.closed = True  # before the await: a lease from now on builds a client anew
    try:
        await pooled.agent.aclose()
    except Exception:  # closing must never take a reply or a reload down
        log.exception("could not close agent %s", pooled.name)
