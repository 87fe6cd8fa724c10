"""Who may stop a reply and reset a conversation, checked in Redis atomically with the lock
(the real turn gate; the asker recorded by the turn's start script)."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from core.governance.controls import Controls
from core.routing.pins import AgentPins
from core.routing.routes import RouteChoice
from core.sessions.gate import Ticket, TurnGate

CONVERSATION = "slack:T1:C1:t1"


@pytest.fixture
def gate(redis_client: aioredis.Redis, namespace: str) -> TurnGate:
    return TurnGate(redis_client, namespace=namespace)


@pytest.fixture
def pins(redis_client: aioredis.Redis, namespace: str) -> AgentPins:
    return AgentPins(redis_client, namespace=namespace)


async def asked_by(pins: AgentPins, ticket: Ticket, user: str) -> None:
    """What the turn's start script records: ``user`` asked the turn ``ticket`` runs."""
    await pins.start_turn(
        CONVERSATION, RouteChoice("a", "default"), known=("a",), user=user,
        turn_number=ticket.turn_number,
    )  # fmt: skip


async def test_only_the_asker_or_an_admin_stops_a_reply(gate: TurnGate, pins: AgentPins) -> None:
    controls = Controls(gate)
    assert await controls.stop(CONVERSATION, user="U1", any_reply=False) == "idle"
    async with gate.enter(CONVERSATION, "e1") as ticket:
        assert ticket is not None
        # The lock is held but the turn has not recorded its asker yet: refused.
        assert await controls.stop(CONVERSATION, user="U1", any_reply=False) == "refused"
        await asked_by(pins, ticket, "U1")
        assert await controls.stop(CONVERSATION, user="U2", any_reply=False) == "refused"
        assert not ticket.cancelled.is_set()
        assert await controls.stop(CONVERSATION, user="U1", any_reply=False) == "stopped"
        assert ticket.cancelled.is_set()  # this process runs it: stopped at once
    async with gate.enter(CONVERSATION, "e2") as ticket:
        assert ticket is not None
        await asked_by(pins, ticket, "U2")
        # U1 asked the previous turn, not this one.
        assert await controls.stop(CONVERSATION, user="U1", any_reply=False) == "refused"
        assert await controls.stop(CONVERSATION, user="ADMIN", any_reply=True) == "stopped"
        assert ticket.cancelled.is_set()


async def test_only_the_starter_or_an_admin_resets(gate: TurnGate, pins: AgentPins) -> None:
    controls = Controls(gate)
    # No session yet: anyone may (there is nothing to take from anyone).
    assert await controls.reset(CONVERSATION, user="U9", any_conversation=False) is not None
    async with gate.enter(CONVERSATION, "e1") as ticket:
        assert ticket is not None
        await asked_by(pins, ticket, "U1")
    before = await gate.sessions.info(CONVERSATION)
    assert before is not None
    assert await controls.reset(CONVERSATION, user="U2", any_conversation=False) is None
    kept = await gate.sessions.info(CONVERSATION)
    assert kept is not None and kept.session_id == before.session_id
    fresh = await controls.reset(CONVERSATION, user="U1", any_conversation=False)
    assert fresh is not None and fresh != before.session_id
    assert await controls.reset(CONVERSATION, user="U2", any_conversation=True) is not None
