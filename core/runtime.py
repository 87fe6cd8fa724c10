"""The process-wide parts, built once from :class:`Settings` and closed together.

A bot (or the console) opens a :class:`Runtime`, then asks it for a :class:`Responder`
bound to its chat surface. One runtime per process means one Redis pool, one HTTP client
and one edit scheduler, which is what lets the scheduler share budgets fairly across every
reply the process streams.

Crash recovery: replies are registered in Redis (:class:`ReplyRegistry`) when their
platform has a reaper, i.e. once a bot asked for ``responder(surface, platform=...)``; the
:class:`Reaper` then runs in this process until the runtime closes.

Agents, routes, access and quotas: the configuration file (:mod:`core.deployment`) is
checked first, before anything opens; every agent it names gets its own client. A service
(the Slack and Discord bots) opens it with ``reload_signal=True``: while it is open, SIGHUP
re-reads the file (``reload_on_sighup``; an invalid file keeps the configuration in force
and logs why). The console and the playground leave SIGHUP alone: for a process in a
terminal it means the terminal was closed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import TracebackType

import httpx
import redis.asyncio as aioredis

from core.agents.base import Agent
from core.config import Settings
from core.deployment.agents import AgentBuilder, AgentPool, factory_builder
from core.deployment.live import LiveDeployment
from core.deployment.load import load_deployment
from core.deployment.sighup import reload_on_sighup
from core.governance.policy import Governance
from core.netguard import guarded_client
from core.ops.recovery import Reaper, ReplyRegistry
from core.relay.relay import Relay
from core.relay.scheduler import EditScheduler
from core.relay.shared_budget import SharedBudgetStore
from core.responder import Responder
from core.sessions.connect import open_redis
from core.sessions.gate import TurnGate
from core.sessions.keys import DEFAULT_NAMESPACE
from core.surface import ChatSurface

__all__ = ["Runtime"]

_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Runtime:
    """Redis, the agents, the turn gate and the edit scheduler of one process.

    ``agent``: serve every configured agent with this one client instead of building them
    (benchmarks and tests that script the agent in process). ``environ``: where agents'
    key variables are read (default: the process environment).
    """

    redis: aioredis.Redis
    deployment: LiveDeployment
    gate: TurnGate
    scheduler: EditScheduler
    http: httpx.AsyncClient
    registry: ReplyRegistry
    reaper: Reaper

    def __init__(
        self,
        settings: Settings,
        *,
        agent: Agent | None = None,
        environ: Mapping[str, str] | None = None,
        reload_signal: bool = False,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> None:
        self.settings = settings
        self.namespace = namespace  # of every Redis key it writes (tests: one per test)
        self._agent = agent
        self._environ = os.environ if environ is None else environ
        self._reload_signal = reload_signal
        self._stack = AsyncExitStack()

    async def __aenter__(self) -> Runtime:
        try:
            await self._open()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def _open(self) -> None:
        settings = self.settings
        # A bad configuration file stops the start before anything opens.
        first = load_deployment(settings, self._environ)
        self.redis, embedded = await open_redis(settings)
        self._stack.push_async_callback(self.redis.aclose)
        if embedded is not None:
            self._stack.push_async_callback(embedded.stop)
        # Artifact downloads only: addresses are checked (SSRF), see core.netguard.
        self.http = guarded_client(settings.artifact_allow_hosts, timeout=_HTTP_TIMEOUT)
        self._stack.push_async_callback(self.http.aclose)
        self.deployment = LiveDeployment(settings, AgentPool(self._builder()), self._environ)
        self._stack.push_async_callback(self.deployment.aclose)
        await self.deployment.open(first)
        if self._reload_signal:
            self._stack.enter_context(reload_on_sighup(self.deployment.reload))
        self.gate = TurnGate(
            self.redis,
            namespace=self.namespace,
            policy=settings.busy_policy,
            lock_ttl=settings.lock_ttl,
            session_ttl=settings.session_ttl,
        )
        shared = SharedBudgetStore(self.redis, self.namespace) if settings.shared_budgets else None
        self.scheduler = EditScheduler(shared=shared)
        self.registry = ReplyRegistry(
            self.redis, namespace=self.namespace, ttl=settings.recovery_ttl
        )
        self.reaper = Reaper(self.registry, interval=settings.recovery_interval)
        # Closed in reverse: the reaper stops, then pending record removals land, then Redis.
        self._stack.push_async_callback(self.registry.aclose)
        self._stack.push_async_callback(self.reaper.aclose)

    def _builder(self) -> AgentBuilder:
        scripted = self._agent
        if scripted is not None:
            return lambda spec: scripted
        return factory_builder(self.settings, self._environ, redis=self.redis)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    def responder(self, surface: ChatSurface, *, platform: str | None = None) -> Responder:
        """A responder that streams replies onto ``surface``.

        ``platform`` (the ``ThreadRef.platform`` of its replies) also hands ``surface`` to
        the reaper, which then finalises that platform's orphaned replies from this process.
        """
        if platform is not None:
            self.reaper.add(platform, surface)
        relay = Relay(
            surface,
            self.scheduler,
            artifact_max_bytes=self.settings.artifact_max_bytes,
            http_client=self.http,
            observer=self.registry,
            turn_timeout=self.settings.turn_timeout,
        )
        governance = Governance.on_redis(
            lambda: self.deployment.current,
            self.redis,
            namespace=self.namespace,
            turn_timeout=self.settings.turn_timeout,
        )
        return Responder(
            governance=governance,
            gate=self.gate,
            relay=relay,
            max_input_chars=self.settings.max_input_chars,
            session_scope=self.settings.session_scope,
            response_format=self.settings.response_model,
        )
