"""What a deployment decides about each turn, bundled for the responder.

:class:`Governance` holds the configuration in force (read once per turn, see
:mod:`core.deployment.live`) and the Redis-backed books that enforce it: agent pins,
quotas, usage and access notices. It holds no per-turn state: the responder passes each
turn's snapshot, admission and agent choice along as arguments.

:meth:`Governance.single` is one agent for every turn with nothing restricted or counted:
what a responder built around a bare agent gets (tests, benchmarks, embedding).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis.asyncio as aioredis

from core.agents.base import Agent
from core.deployment.agents import PooledAgent
from core.deployment.live import Snapshot
from core.deployment.load import ENV_AGENT, Deployment
from core.deployment.schema import AccessSpec, AgentSpec, FileConfig
from core.governance.notices import AccessNotices
from core.governance.quotas import QuotaBook
from core.routing.pins import AgentPins
from core.usage.book import UsageBook

__all__ = ["Governance"]

_QUOTA_SLOT_MARGIN = 60.0
"""Seconds a reply slot outlives the turn timeout (final edits, files) before it expires."""


@dataclass(frozen=True, slots=True)
class Governance:
    current: Callable[[], Snapshot]
    """The configuration in force now."""
    pins: AgentPins | None = None
    quotas: QuotaBook | None = None
    usage: UsageBook | None = None
    notices: AccessNotices | None = None

    @classmethod
    def on_redis(
        cls,
        current: Callable[[], Snapshot],
        redis: aioredis.Redis,
        *,
        namespace: str,
        turn_timeout: float,
    ) -> Governance:
        """Every book on one Redis, under the deployment's key namespace."""
        slot_ttl = turn_timeout + _QUOTA_SLOT_MARGIN
        return cls(
            current=current,
            pins=AgentPins(redis, namespace=namespace),
            quotas=QuotaBook(redis, namespace=namespace, slot_ttl=slot_ttl),
            usage=UsageBook(redis, namespace=namespace),
            notices=AccessNotices(redis, namespace=namespace),
        )

    @classmethod
    def single(cls, agent: Agent) -> Governance:
        """``agent`` answers every turn; no rules, quotas, pins or usage."""
        spec = AgentSpec(name=ENV_AGENT, backend="demo")
        config = FileConfig(agents=(spec,), access=AccessSpec(stop="anyone"))
        snapshot = Snapshot(Deployment(config, ENV_AGENT), {ENV_AGENT: PooledAgent(spec, agent)})
        return cls(current=lambda: snapshot)
