"""What the route handlers share: the world, the gateway, rate limits, injected faults and
the record of every call. Reached from a request as ``request.app[STATE]``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from aiohttp import web

from .clock import SimClock
from .config import SimulatorConfig
from .events import Events
from .gateway import Gateway
from .models import Call
from .ratelimits import RateLimiter
from .world import World

__all__ = ["STATE", "Fault", "SimState"]


@dataclass(slots=True)
class Fault:
    """A failure a test scheduled for the next ``times`` matching requests."""

    method: str
    route: str  # route template, e.g. ``/channels/{channel_id}/messages/{message_id}``
    status: int
    times: int
    channel_id: int | None = None
    retry_after: float = 1.0  # for 429
    is_global: bool = False  # for 429
    code: int = 0  # Discord JSON error code for other statuses
    message: str = "Injected failure"

    def matches(self, method: str, route: str, channel_id: int | None) -> bool:
        if self.times <= 0 or self.method != method or self.route != route:
            return False
        return self.channel_id is None or self.channel_id == channel_id


@dataclass(slots=True)
class SimState:
    config: SimulatorConfig
    world: World
    gateway: Gateway
    events: Events
    limiter: RateLimiter
    changed: asyncio.Condition
    clock: SimClock
    calls: list[Call] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    # Discord's API down (an outage): every REST call answers 503 until it is back.
    down: bool = False

    def take_fault(self, method: str, route: str, channel_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.matches(method, route, channel_id):
                fault.times -= 1
                return fault
        return None

    async def record(self, call: Call) -> None:
        self.calls.append(call)
        async with self.changed:
            self.changed.notify_all()


STATE = web.AppKey("discord_simulator_state", SimState)
