"""A conversation keeps the agent that started it, across route changes, until ``new``;
the pin lives with the session in Redis (real Redis, the real turn gate)."""

from __future__ import annotations

import redis.asyncio as aioredis

from core.routing.pins import AgentPins
from core.routing.routes import RouteChoice
from core.sessions.gate import TurnGate


async def _turn(
    gate: TurnGate, pins: AgentPins, event: str, choice: RouteChoice, known: tuple[str, ...]
) -> RouteChoice:
    async with gate.enter("slack:T1:C1:t1", event) as ticket:
        assert ticket is not None
        return await pins.start_turn(
            "slack:T1:C1:t1", choice, known=known, user="U1", turn_number=ticket.turn_number
        )


async def test_the_first_agent_stays_until_a_new_session(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    gate = TurnGate(redis_client, namespace=namespace)
    pins = AgentPins(redis_client, namespace=namespace)
    both = ("support", "eng")
    first = await _turn(gate, pins, "e1", RouteChoice("support", "routes[0]"), both)
    assert first == RouteChoice("support", "routes[0]")
    # The routes changed: this conversation now routes to eng, but keeps support.
    second = await _turn(gate, pins, "e2", RouteChoice("eng", "routes[1]"), both)
    assert second == RouteChoice("support", "routes[0]")
    await gate.new_session("slack:T1:C1:t1")
    third = await _turn(gate, pins, "e3", RouteChoice("eng", "routes[1]"), both)
    assert third == RouteChoice("eng", "routes[1]")


async def test_a_pinned_agent_no_longer_configured_is_replaced(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    gate = TurnGate(redis_client, namespace=namespace)
    pins = AgentPins(redis_client, namespace=namespace)
    await _turn(gate, pins, "e1", RouteChoice("old", "routes[0]"), ("old", "new"))
    replaced = await _turn(gate, pins, "e2", RouteChoice("new", "default"), ("new",))
    assert replaced == RouteChoice("new", "default")
    kept = await _turn(gate, pins, "e3", RouteChoice("other", "x"), ("new", "other"))
    assert kept == RouteChoice("new", "default")
