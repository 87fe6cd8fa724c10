"""The process-wide parts, built once from :class:`Settings` and closed together.

A bot (or the console) opens a :class:`Runtime`, then asks it for a :class:`Responder`
bound to its chat surface. One runtime per process means one Redis pool, one HTTP client
and one edit scheduler, which is what lets the scheduler share budgets fairly across every
reply the process streams.

Crash recovery: replies are registered in Redis (:class:`ReplyRegistry`) when their
platform has a reaper, i.e. once a bot asked for ``responder(surface, platform=...)``; the
:class:`Reaper` then runs in this process until the runtime closes.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from types import TracebackType

import httpx
import redis.asyncio as aioredis

from core.agents.base import Agent
from core.agents.factory import make_agent
from core.config import Settings
from core.netguard import guarded_client
from core.ops.recovery import Reaper, ReplyRegistry
from core.relay.relay import Relay
from core.relay.scheduler import EditScheduler
from core.relay.shared_budget import SharedBudgetStore
from core.responder import Responder
from core.sessions.connect import open_redis
from core.sessions.gate import TurnGate
from core.surface import ChatSurface

__all__ = ["Runtime"]

_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Runtime:
    """Redis, the agent, the turn gate and the edit scheduler of one process."""

    redis: aioredis.Redis
    agent: Agent
    gate: TurnGate
    scheduler: EditScheduler
    http: httpx.AsyncClient
    registry: ReplyRegistry
    reaper: Reaper

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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
        self.redis, embedded = await open_redis(settings)
        self._stack.push_async_callback(self.redis.aclose)
        if embedded is not None:
            self._stack.push_async_callback(embedded.stop)
        # Artifact downloads only: addresses are checked (SSRF), see core.netguard.
        self.http = guarded_client(settings.artifact_allow_hosts, timeout=_HTTP_TIMEOUT)
        self._stack.push_async_callback(self.http.aclose)
        self.agent = make_agent(settings, redis=self.redis)
        self._stack.push_async_callback(self.agent.aclose)
        self.gate = TurnGate(
            self.redis,
            policy=settings.busy_policy,
            lock_ttl=settings.lock_ttl,
            session_ttl=settings.session_ttl,
        )
        shared = SharedBudgetStore(self.redis) if settings.shared_budgets else None
        self.scheduler = EditScheduler(shared=shared)
        self.registry = ReplyRegistry(self.redis, ttl=settings.recovery_ttl)
        self.reaper = Reaper(self.registry, interval=settings.recovery_interval)
        # Closed in reverse: the reaper stops, then pending record removals land, then Redis.
        self._stack.push_async_callback(self.registry.aclose)
        self._stack.push_async_callback(self.reaper.aclose)

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
        )
        return Responder(
            agent=self.agent,
            gate=self.gate,
            relay=relay,
            max_input_chars=self.settings.max_input_chars,
            session_scope=self.settings.session_scope,
            response_format=self.settings.response_model,
        )
