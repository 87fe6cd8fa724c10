"""What the route handlers share: the world, the gateway, rate limits, injected faults and
the record of every call. Reached from a request as ``request.app[STATE]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from ..after_calls import AfterCalls
from .clock import SimClock
from .config import SimulatorConfig
from .events import Events
from .gateway import Gateway
from .models import Call
from .nonces import Nonces
from .ratelimits import RateLimiter
from .world import World

__all__ = ["STATE", "AfterCall", "AnswerLost", "CallHook", "Fault", "SimState"]


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


CallHook = Callable[[Call], Awaitable[None]]


class AnswerLost(Exception):
    """Raised by an :class:`AfterCall` hook: the connection breaks once Discord has applied
    the request, and the client reads no answer (aiohttp raises ``ServerDisconnectedError``
    on a connection closed before the response: aiohttp/client_proto.py
    ``connection_lost``). A client timing out on a slow answer meets the same unknown."""


@dataclass(slots=True)
class AfterCall:
    """Run ``hook`` once, on the next successful ``method`` request to ``route`` (in
    ``match``, if given), after Discord has applied it and before its answer is sent.

    It models what no error code can: the bot dying (SIGKILL, OOM, a node lost) or its
    connection breaking *between* Discord committing a request and the bot reading the
    answer — a message is then in the channel and the bot never learnt its id. A test's
    hook kills the bot's process there; the answer goes to a client that is gone.
    """

    method: str
    route: str
    hook: CallHook
    match: Callable[[Call], bool] | None = None

    def matches(self, call: Call) -> bool:
        if call.method != self.method or call.route != self.route or call.status >= 300:
            return False
        return self.match is None or self.match(call)


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
    after: AfterCalls[Call] = field(default_factory=AfterCalls)  # one-shot (sim.after_call)
    nonces: Nonces = field(default_factory=Nonces)  # enforced nonces of recent creates
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
