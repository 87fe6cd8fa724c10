"""The process-wide parts, built once from :class:`Settings` and closed together.

A bot (or the console) opens a :class:`Runtime`, then asks it for a :class:`Responder`
bound to its chat surface. One runtime per process means one Redis pool, one HTTP client
and one edit scheduler, which is what lets the scheduler share budgets fairly across every
reply the process streams.

Keys: every Redis key of the deployment is under ``THREADCAST_REDIS_NAMESPACE`` (sessions,
locks, budgets, recovery, routing pins, quotas, usage, agent histories), so bots sharing one
Redis keep apart by setting different namespaces.

Crash recovery (:class:`~core.ops.recovery.Recovery`): a bot that knows who it is on its
platform calls :meth:`Runtime.recover`; from then on that platform's turns are registered
in Redis, and this process's reaper finishes the bot's replies other replicas (or outages)
left unfinished, until the runtime closes.

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

import httpx
import redis.asyncio as aioredis

from core.agents.base import Agent
from core.config import Settings
from core.context.gather import ContextGatherer, ContextLimits
from core.context.marker import ContextMarker
from core.context.source import ContextSource
from core.deployment.agents import AgentBuilder, AgentPool, factory_builder
from core.deployment.live import LiveDeployment
from core.deployment.load import load_deployment
from core.deployment.sighup import reload_on_sighup
from core.feedback.service import Feedback
from core.feedback.store import FeedbackStore
from core.feedback.webhook import FeedbackWebhook
from core.governance.policy import Governance
from core.lifecycle import StackedLifecycle
from core.netguard import guarded_client
from core.ops.recovery import Reaper, Recovery, ReplyRegistry
from core.relay.relay import Relay
from core.relay.scheduler import EditScheduler
from core.relay.shared_budget import SharedBudgetStore
from core.responder import Responder
from core.sessions.connect import open_redis
from core.sessions.gate import TurnGate
from core.surface import ChatSurface

__all__ = ["Runtime"]

_HTTP_TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class Runtime(StackedLifecycle):
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
    recovery: Recovery

    def __init__(
        self,
        settings: Settings,
        *,
        agent: Agent | None = None,
        environ: Mapping[str, str] | None = None,
        reload_signal: bool = False,
        namespace: str | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        # Of every Redis key it writes: THREADCAST_REDIS_NAMESPACE unless given (tests: one
        # per test).
        self.namespace = namespace or settings.redis_namespace
        self._agent = agent
        self._environ = os.environ if environ is None else environ
        self._reload_signal = reload_signal
        self._webhook: FeedbackWebhook | None = None
        self._feedback: Feedback | None = None

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
        namespace = self.namespace
        self.gate = TurnGate(
            self.redis,
            namespace=namespace,
            policy=settings.busy_policy,
            lock_ttl=settings.lock_ttl,
            session_ttl=settings.session_ttl,
        )
        shared = SharedBudgetStore(self.redis, namespace) if settings.shared_budgets else None
        self.scheduler = EditScheduler(shared=shared)
        registry = ReplyRegistry(self.redis, namespace=namespace, ttl=settings.recovery_ttl)
        # A reaper that dies while finishing a reply loses it after 4 ttl (60 s by default),
        # as an owner that dies loses its replies after one ttl.
        reaper = Reaper(registry, self.scheduler, interval=settings.recovery_interval,
                        lease=4 * settings.recovery_ttl)  # fmt: skip
        self.recovery = Recovery(registry, reaper)
        # Closed before Redis: the reaper stops, then pending record removals land.
        self._stack.push_async_callback(self.recovery.aclose)
        if settings.feedback and settings.feedback_url:
            # Its own client: the webhook is the operator's address, internal or not.
            client = httpx.AsyncClient(timeout=_HTTP_TIMEOUT)
            self._stack.push_async_callback(client.aclose)
            self._webhook = FeedbackWebhook(settings.feedback_url, client)
            self._stack.push_async_callback(self._webhook.aclose)  # drained before the client

    def _builder(self) -> AgentBuilder:
        scripted = self._agent
        if scripted is not None:
            return lambda spec: scripted
        return factory_builder(
            self.settings, self._environ, redis=self.redis, namespace=self.namespace
        )

    @property
    def feedback(self) -> Feedback | None:
        """Votes on replies (``THREADCAST_FEEDBACK``), in the runtime's namespace."""
        if not self.settings.feedback:
            return None
        if self._feedback is None:
            store = FeedbackStore(self.redis, namespace=self.namespace)
            self._feedback = Feedback(store, webhook=self._webhook)
        return self._feedback

    def recover(self, platform: str, bot: str, surface: ChatSurface) -> None:
        """Register ``platform``'s turns under the bot ``bot`` (its user or app id there) and
        finish that bot's unfinished replies through ``surface`` (see the module docstring)."""
        self.recovery.serve(platform, bot, surface)

    def responder(self, surface: ChatSurface, *, context: ContextSource | None = None) -> Responder:
        """A responder that streams replies onto ``surface``.

        ``context``: the platform's reader of earlier messages and users' files; the agent
        then sees the conversation (:mod:`core.context`), within the settings' bounds.
        """
        relay = Relay(
            surface,
            self.scheduler,
            artifact_max_bytes=self.settings.artifact_max_bytes,
            http_client=self.http,
            observer=self.recovery,
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
            context=self._gatherer(context),
            feedback=self.feedback,
        )

    def _gatherer(self, source: ContextSource | None) -> ContextGatherer | None:
        if source is None:
            return None
        settings = self.settings
        marker = ContextMarker(
            self.redis, namespace=self.namespace, ttl=settings.session_ttl,
            op_timeout=self.gate.op_timeout, patience=self.gate.redis_patience,
        )  # fmt: skip
        limits = ContextLimits(
            messages=settings.context_messages,
            chars=settings.context_chars,
            files=settings.input_files,
            file_bytes=settings.input_file_max_bytes,
        )
        # Users' files go through the same address-checking client as artifacts.
        return ContextGatherer(source, marker, self.http, limits)
