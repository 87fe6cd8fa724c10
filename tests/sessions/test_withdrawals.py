"""Withdrawn messages against a real Redis; two gates on separate clients act as replicas."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from core.sessions.gate import TurnGate
from core.sessions.withdrawals import Withdrawals

GateFactory = Callable[..., TurnGate]
PATIENCE = 10  # a safety net: a broken stop fails the test instead of hanging it


async def test_a_message_withdrawn_before_its_turn_begins_is_dropped(
    make_gate: GateFactory, conversation: str
) -> None:
    """The deletion came first (a redelivery, or the turn still queued): ``begin`` says no,
    on whichever replica the turn runs."""
    here, there = make_gate(), make_gate()
    assert not await Withdrawals(here).withdraw(conversation, "slack:C1:1.0")  # nothing ran
    async with there.enter(conversation, "slack:C1:1.0") as ticket:
        assert ticket is not None
        assert not await Withdrawals(there).begin(ticket)
    async with there.enter(conversation, "slack:C1:2.0") as other:
        assert other is not None
        assert await Withdrawals(there).begin(other)  # another message goes on


async def test_a_withdrawal_stops_its_own_running_turn_on_another_replica(
    make_gate: GateFactory, conversation: str
) -> None:
    here, there = make_gate(signal_interval=0.05), make_gate()
    withdrawals = Withdrawals(there)
    async with here.enter(conversation, "slack:C1:1.0") as ticket:
        assert ticket is not None
        assert await Withdrawals(here).begin(ticket)
        assert not await withdrawals.withdrawn(conversation, "slack:C1:1.0")
        assert await withdrawals.withdraw(conversation, "slack:C1:1.0")
        await asyncio.wait_for(ticket.cancelled.wait(), PATIENCE)
        assert await withdrawals.withdrawn(conversation, "slack:C1:1.0")


async def test_a_withdrawal_never_stops_another_messages_turn(
    make_gate: GateFactory, conversation: str
) -> None:
    """The first turn's running record outlives it; the next turn holds the lock before it
    begins (records itself): withdrawing the first message now must not stop the second."""
    gate = make_gate()
    withdrawals = Withdrawals(gate)
    async with gate.enter(conversation, "slack:C1:1.0") as first:
        assert first is not None and await withdrawals.begin(first)
    async with gate.enter(conversation, "slack:C1:2.0") as second:
        assert second is not None
        assert not await withdrawals.withdraw(conversation, "slack:C1:1.0")  # not yet begun
        assert await withdrawals.begin(second)
        assert not await withdrawals.withdraw(conversation, "slack:C1:1.0")  # begun
        assert not second.cancelled.is_set()
