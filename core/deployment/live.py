"""The configuration in force in this process, replaced whole when the file is re-read.

A turn reads :attr:`LiveDeployment.current` once, when it starts, and passes what it
needs from that :class:`Snapshot` along as arguments: a reload in the middle of a turn
never changes the agent, rules or limits that turn runs under, and nothing shared is
edited in place. :meth:`LiveDeployment.reload` (SIGHUP, see :mod:`.sighup`) checks the new
file completely and builds its new agent clients *before* swapping; an invalid file keeps
the previous configuration and logs why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from core.config import Settings
from core.deployment.agents import AgentPool, PooledAgent
from core.deployment.load import Deployment, load_deployment
from core.errors import ThreadcastError

__all__ = ["LiveDeployment", "Snapshot"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One configuration and the agent clients that serve it."""

    deployment: Deployment
    agents: Mapping[str, PooledAgent]

    def agent(self, name: str) -> PooledAgent:
        return self.agents[name]


class LiveDeployment:
    """See the module docstring. ``open()`` loads the first configuration (raising what is
    wrong with it); ``reload()`` never raises."""

    def __init__(self, settings: Settings, pool: AgentPool, environ: Mapping[str, str]) -> None:
        self._settings = settings
        self._pool = pool
        self._environ = environ
        self._current: Snapshot | None = None
        self._reloading = asyncio.Lock()

    @property
    def current(self) -> Snapshot:
        if self._current is None:
            raise RuntimeError("LiveDeployment used before open()")
        return self._current

    async def open(self, deployment: Deployment | None = None) -> Snapshot:
        """Put the first configuration in force: ``deployment`` (already loaded) or the
        file's; raises what is wrong with it."""
        if deployment is None:
            deployment = load_deployment(self._settings, self._environ)
        agents, _ = await self._pool.provide(deployment.agents)
        self._current = Snapshot(deployment, agents)
        return self._current

    async def reload(self) -> bool:
        """Re-read the file; True when the new configuration is in force."""
        async with self._reloading:
            try:
                deployment = load_deployment(self._settings, self._environ)
                agents, unused = await self._pool.provide(deployment.agents)
            except ThreadcastError as exc:
                log.error("configuration not reloaded, the previous one stays in force: %s", exc)
                return False
            self._current = Snapshot(deployment, agents)
            await self._pool.retire(unused)
            where = deployment.source or "the environment"
            log.warning(
                "configuration reloaded from %s: agents %s, %d routes",
                where, ", ".join(deployment.agent_names()), len(deployment.config.routes),
            )  # fmt: skip
            return True

    async def aclose(self) -> None:
        await self._pool.aclose()
