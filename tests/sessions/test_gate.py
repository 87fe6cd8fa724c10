"""The turn gate against a real Redis; several gates on separate clients act as replicas."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.errors import SessionStoreError
from core.redis import ms
from core.sessions.connect import redis_client
from core.sessions.gate import GateTimeout, Ticket, TurnGate
from core.sessions.keys import SessionKeys
from core.sessions.scripts import ENTER, LEAVE, POLL
from tests.bots.discord.slow_redis import SlowRedis
from tests.sessions.locks import expiry_ms, hold_lock, outlive

GateFactory = Callable[..., TurnGate]
# A safety net so a broken gate fails the test instead of hanging it; never a speed claim.
PATIENCE = 10


async def test_duplicate_event_yields_none(make_gate: GateFactory, conversation: str) -> None:
    gate = make_gate()
    async with gate.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        assert ticket.turn_number == 1 and ticket.arrival == 1
    async with gate.enter(conversation, "Ev1") as again:
        assert again is None
    async with make_gate().enter(conversation, "Ev1") as elsewhere:  # another replica
        assert elsewhere is None


async def test_fifty_racing_turns_run_one_at_a_time_in_arrival_order(
    make_gate: GateFactory, conversation: str
) -> None:
    """Arrival order = the order in which ``enter`` registered in Redis (``ticket.arrival``).

    A release wakes at once only the waiters of its own replica; the others find the line
    moved at their next poll, which backs off to ``max_poll_interval`` (1 s by default: 50
    turns took 15 s with two busy processes beside the test, over 30 s in the full suite).
    Polls here stay within 0.1 s. Nothing may expire on a stalled loop, since the test is
    about order, not expiry (tested below): a waiter silent for a second would lose its
    place, a lock held past 2 s its exclusivity, both rightly."""
    gates = [make_gate(max_poll_interval=0.1, waiter_ttl=60, lock_ttl=60) for _ in range(4)]
    ran: list[Ticket] = []
    active = 0
    most_active = 0

    async def turn(i: int) -> None:
        nonlocal active, most_active
        async with gates[i % len(gates)].enter(conversation, f"Ev{i}") as ticket:
            assert ticket is not None
            active += 1
            most_active = max(most_active, active)
            ran.append(ticket)
            await asyncio.sleep(0.002)  # let every other task run while we hold the turn
            active -= 1

    async with asyncio.timeout(PATIENCE * 3):
        await asyncio.gather(*(turn(i) for i in range(50)))
    assert most_active == 1
    arrivals = [t.arrival for t in ran]
    assert sorted(arrivals) == list(range(1, 51))
    assert arrivals == sorted(arrivals)  # answered strictly in arrival order
    assert [t.turn_number for t in ran] == list(range(1, 51))
    assert len({t.session_id for t in ran}) == 1


async def test_heartbeat_keeps_a_long_turn_exclusive(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    # The lock's TTL runs on Redis's real clock: it must exceed any stall of this busy
    # machine (a beat every ttl/3 leaves two thirds of it), or the lock is rightly lost.
    holder = make_gate(lock_ttl=1.0, signal_interval=10)  # beats every ttl/3
    other = make_gate(lock_ttl=1.0)
    keys = SessionKeys(conversation, namespace=namespace)
    events: list[str] = []

    async def second() -> None:
        async with other.enter(conversation, "Ev2") as ticket:
            assert ticket is not None
            events.append("second entered")

    async with holder.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        token, taken_until = (
            await redis_client.get(keys.lock),
            await expiry_ms(redis_client, keys.lock),
        )
        waiter = asyncio.create_task(second())
        await _until(lambda: redis_client.zcard(keys.queue), 1)  # the second turn waits
        await outlive(redis_client, keys.lock, str(token), taken_until)  # the turn outlived its TTL
        assert not waiter.done()
        assert not ticket.lock_lost.is_set()
        events.append("first done")
    async with asyncio.timeout(PATIENCE):
        await waiter
    assert events == ["first done", "second entered"]


async def test_a_dead_holders_lock_expires_and_the_next_turn_proceeds(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    keys = SessionKeys(conversation, namespace=namespace)
    # A replica that took the lock and crashed: nobody extends or releases it.
    dead = await hold_lock(redis_client, keys, ttl=0.3)
    gate = make_gate(lock_ttl=0.3)
    async with asyncio.timeout(PATIENCE), gate.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        assert await redis_client.get(keys.lock) != dead.token
    assert await dead.extend() is False


async def test_a_dead_waiter_is_skipped_after_its_expiry(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    gate = make_gate(waiter_ttl=0.3)
    keys = SessionKeys(conversation, namespace=namespace)
    async with gate.enter(conversation, "Ev1") as first:
        assert first is not None
        # A replica registers a waiter and crashes before it ever polls.
        reply = await _raw_enter(redis_client, keys, "dead-token", "EvDead", waiter_ttl=0.3)
        assert reply[0] == 2
        later = asyncio.create_task(_enter_and_report(gate, conversation, "Ev3"))
        await _until(lambda: redis_client.exists(keys.seen("Ev3")), 1)  # it entered: queued
    async with asyncio.timeout(PATIENCE):
        ticket = await later
    assert ticket.arrival == 3
    assert await redis_client.zscore(keys.queue, "tok-dead-token") is None


async def test_a_cancelled_waiter_leaves_the_queue(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    gate = make_gate(waiter_ttl=60)  # its expiry would block the queue for a minute
    keys = SessionKeys(conversation, namespace=namespace)
    async with gate.enter(conversation, "Ev1"):
        quitter = asyncio.create_task(_enter_and_report(gate, conversation, "Ev2"))
        await _until(lambda: redis_client.zcard(keys.queue), 1)
        quitter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await quitter
        assert await redis_client.zcard(keys.queue) == 0
    async with asyncio.timeout(PATIENCE), make_gate().enter(conversation, "Ev3") as ticket:
        assert ticket is not None and ticket.arrival == 3


async def test_a_late_poll_of_a_waiter_that_left_does_not_put_it_back(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    """A waiter cancelled while its poll is in flight leaves on another connection; that
    poll may reach Redis after the LEAVE (a command already written, or a cancel redis-py
    swallowed). It must neither rejoin the queue (blocking every later turn for its waiter
    TTL) nor take the lock."""
    keys = SessionKeys(conversation, namespace=namespace)
    async with make_gate(lock_ttl=60).enter(conversation, "Ev1") as first:
        assert first is not None
        assert (await _raw_enter(redis_client, keys, "gone", "Ev2", waiter_ttl=60))[0] == 2
        await _raw_leave(redis_client, keys, "tok-gone")
        late = await _raw_poll(redis_client, keys, "tok-gone", arrival=2)
        assert await redis_client.zcard(keys.queue) == 0
        assert late[0] != 1
    assert await redis_client.exists(keys.lock) == 0  # released, and no late poll since
    late = await _raw_poll(redis_client, keys, "tok-gone", arrival=2)  # even with no holder
    assert await redis_client.zcard(keys.queue) == 0
    assert await redis_client.get(keys.lock) is None
    assert late[0] != 1
    assert (await _raw_enter(redis_client, keys, "next", "Ev3", waiter_ttl=60))[:2] == [1, 3]


@pytest.mark.parametrize("lock", ["held", "free"])
async def test_a_late_enter_of_a_waiter_that_left_does_not_put_it_back(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis,
    lock: str,
) -> None:  # fmt: skip
    """A try of ENTER (the first, or one asked again after a slow answer) may reach Redis
    only after the waiter gave up and left: it must not queue the gone turn nor take the
    lock for it."""
    keys = SessionKeys(conversation, namespace=namespace)
    async with contextlib.AsyncExitStack() as stack:
        if lock == "held":
            assert await stack.enter_async_context(make_gate(lock_ttl=60).enter(
                conversation, "Ev1"
            ))  # fmt: skip
        await _raw_leave(redis_client, keys, "tok-gone")
        late = await _raw_enter(redis_client, keys, "gone", "Ev2", waiter_ttl=60)
        assert await redis_client.zcard(keys.queue) == 0
        assert await redis_client.get(keys.lock) != "tok-gone"
        assert late[0] not in (1, 2)  # neither holding the lock nor queued
    reply = await _raw_enter(redis_client, keys, "next", "Ev3", waiter_ttl=60)
    assert reply[0] == 1  # the next turn enters at once


async def test_waiting_too_long_raises_gate_timeout(
    make_gate: GateFactory, conversation: str
) -> None:
    gate = make_gate(max_wait=0.2)
    async with gate.enter(conversation, "Ev1"):
        with pytest.raises(GateTimeout):
            async with gate.enter(conversation, "Ev2"):
                pytest.fail("entered while the first turn held the conversation")


@pytest.mark.parametrize("replicas", ["same gate", "another gate"])
async def test_interrupt_cancels_the_running_turn(
    make_gate: GateFactory, conversation: str, replicas: str
) -> None:
    # A heartbeat far slower than the test: in one process the signal must not need it.
    slow = {"lock_ttl": 60.0, "signal_interval": 60.0} if replicas == "same gate" else {}
    first_gate = make_gate(policy="interrupt", **slow)
    second_gate = first_gate if replicas == "same gate" else make_gate(policy="interrupt")
    events: list[str] = []
    started = asyncio.Event()

    async def running() -> None:
        async with first_gate.enter(conversation, "Ev1") as ticket:
            assert ticket is not None
            events.append("first started")
            started.set()
            async with asyncio.timeout(PATIENCE):
                await ticket.cancelled.wait()
            events.append("first cancelled")

    first = asyncio.create_task(running())
    await started.wait()
    async with asyncio.timeout(PATIENCE), second_gate.enter(conversation, "Ev2") as ticket:
        assert ticket is not None
        events.append("second started")
        assert not ticket.cancelled.is_set()
    await first
    assert events == ["first started", "first cancelled", "second started"]


async def test_interrupt_supersedes_older_waiters(
    make_gate: GateFactory, conversation: str
) -> None:
    gates = [make_gate(policy="interrupt") for _ in range(2)]
    async with gates[0].enter(conversation, "Ev1") as first:
        assert first is not None
        waiting = asyncio.create_task(_enter_and_report(gates[1], conversation, "Ev2", none=True))
        async with asyncio.timeout(PATIENCE):
            await first.cancelled.wait()
        newest = asyncio.create_task(_enter_and_report(gates[0], conversation, "Ev3"))
        async with asyncio.timeout(PATIENCE):
            assert await waiting is None  # superseded: only the newest message is answered
    async with asyncio.timeout(PATIENCE):
        ticket = await newest
    assert ticket.arrival == 3 and ticket.turn_number == 2


async def test_cancel_from_another_gate_stops_only_the_running_turn(
    make_gate: GateFactory, conversation: str, namespace: str, redis_client: aioredis.Redis
) -> None:
    holder, waiter_gate, stopper = make_gate(), make_gate(), make_gate()
    keys = SessionKeys(conversation, namespace=namespace)
    assert await stopper.cancel(conversation) is False  # nothing running
    async with holder.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        queued = asyncio.create_task(_enter_and_report(waiter_gate, conversation, "Ev2"))
        await _until(lambda: redis_client.zcard(keys.queue), 1)  # queued before the stop
        assert await stopper.cancel(conversation) is True
        async with asyncio.timeout(PATIENCE):
            await ticket.cancelled.wait()
    async with asyncio.timeout(PATIENCE):
        second = await queued
    assert second.arrival == 2 and not second.cancelled.is_set()


async def test_cancel_in_the_same_gate_is_immediate(
    make_gate: GateFactory, conversation: str
) -> None:
    gate = make_gate(lock_ttl=60.0, signal_interval=60.0)
    async with gate.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        assert await gate.cancel(conversation) is True
        assert ticket.cancelled.is_set()


async def test_an_uncontended_turn_costs_at_most_three_round_trips(
    make_gate: GateFactory, conversation: str
) -> None:
    gate = make_gate()
    async with gate.enter("warm:up:scripts:", "Ev0"):  # first use loads the scripts
        pass
    calls: list[Any] = []
    real: Callable[..., Awaitable[Any]] = gate.redis.execute_command

    async def counting(*args: Any, **options: Any) -> Any:
        calls.append(args[0])  # one execute_command = one request/reply round trip
        return await real(*args, **options)

    gate.redis.execute_command = counting  # type: ignore[method-assign]
    async with gate.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
    assert len(calls) <= 3, calls
    assert calls == ["EVALSHA", "EVALSHA"]  # enter, release


async def test_redis_down_raises_session_store_error(conversation: str) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = redis_client(f"redis://127.0.0.1:{port}/0")
    gate = TurnGate(client, op_timeout=2)
    try:
        with pytest.raises(SessionStoreError, match="redis"):
            async with gate.enter(conversation, "Ev1"):
                pytest.fail("entered without redis")
        with pytest.raises(SessionStoreError):
            await gate.cancel(conversation)
    finally:
        await client.aclose()


async def _enter_and_report(
    gate: TurnGate, conversation: str, event_id: str, *, none: bool = False
) -> Any:
    async with gate.enter(conversation, event_id) as ticket:
        assert (ticket is None) == none
        return ticket


async def _until(probe: Callable[[], Any], value: Any) -> None:
    """Poll Redis state until it shows ``value``."""
    async with asyncio.timeout(PATIENCE):
        while True:
            if await probe() == value:
                return
            await asyncio.sleep(0.01)


async def _raw_enter(
    redis: aioredis.Redis, keys: SessionKeys, token: str, event_id: str, *, waiter_ttl: float
) -> list[Any]:
    reply: list[Any] = await ENTER(
        redis,
        [keys.seen(event_id), keys.session, keys.meta, keys.lock, keys.stop, keys.queue,
         keys.alive, keys.order, keys.left("tok-" + token)],
        ["tok-" + token, "tc-raw", ms(60), ms(2), ms(waiter_ttl), 600, "queue"],
    )  # fmt: skip
    return reply


async def _raw_poll(
    redis: aioredis.Redis, keys: SessionKeys, token: str, *, arrival: int
) -> list[Any]:
    """One poll of a waiting turn, as the gate sends it (waiter TTL 60 s)."""
    reply: list[Any] = await POLL(
        redis,
        [keys.session, keys.meta, keys.lock, keys.queue, keys.alive, keys.order,
         keys.left(token)],
        [token, arrival, "tc-raw", ms(60), ms(2), ms(60)],
    )  # fmt: skip
    return reply


async def _raw_leave(redis: aioredis.Redis, keys: SessionKeys, token: str) -> None:
    """A waiting turn gives up, as the gate's LEAVE (its marker kept 60 s)."""
    await LEAVE(redis, [keys.lock, keys.queue, keys.alive, keys.left(token)], [token, ms(60)])


async def test_redis_calls_of_held_turns_do_not_grow_with_the_stop_signal_interval(
    make_gate: GateFactory, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18.1: 2,000 turns in flight (most only queued for a platform budget) each
    extended their lock every 0.5 s and exhausted the Redis pool. Turns now extend every
    ttl/3; stops from other replicas arrive through one inbox read per signal interval for
    the whole gate, whatever the number of turns."""
    import core.sessions.gate as gate_module
    import core.sessions.lock as lock_module

    counts = {"extend": 0, "inbox": 0}
    ten_reads = asyncio.Event()
    reads_wanted = [10**9]

    def counting(name: str, script: Any) -> Any:
        async def call(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            if name == "inbox" and counts[name] >= reads_wanted[0]:
                ten_reads.set()
            return await script(*args, **kwargs)

        return call

    monkeypatch.setattr(lock_module, "EXTEND", counting("extend", lock_module.EXTEND))
    monkeypatch.setattr(gate_module, "TAKE_STOPS", counting("inbox", gate_module.TAKE_STOPS))
    gate = make_gate(lock_ttl=30.0, signal_interval=0.05)
    other = make_gate(lock_ttl=30.0, signal_interval=0.05)  # another replica
    turns = 40
    entered = 0
    all_in = asyncio.Event()
    release = asyncio.Event()

    async def hold(index: int) -> bool:
        nonlocal entered
        async with gate.enter(f"{namespace}:conv-{index}", f"Ev{index}") as ticket:
            assert ticket is not None
            entered += 1
            if entered == turns:
                all_in.set()
            async with asyncio.timeout(PATIENCE):
                await release.wait()
            return ticket.cancelled.is_set()

    async with asyncio.timeout(PATIENCE):
        held = [asyncio.create_task(hold(i)) for i in range(turns)]
        await all_in.wait()
        # Ten stop intervals pass with every turn holding its lock: the old heartbeat would
        # have extended each lock ten times (400 calls).
        reads_wanted[0] = counts["inbox"] + 10
        await ten_reads.wait()
        # A stop from the other replica still reaches its turn, within the interval.
        assert await other.cancel(f"{namespace}:conv-7")
        await gate._running[f"{namespace}:conv-7"].stop_requested.wait()
        release.set()
        stopped = await asyncio.gather(*held)
    assert stopped == [i == 7 for i in range(turns)]
    assert counts["extend"] == 0  # nothing extended before ttl/3 (10 s)
    assert counts["inbox"] < turns  # one read per interval for the gate, not per turn


# Issue 18.1 (bench_scale, N = 1,000): a burst of 250 DMs on one Discord shard saturated its
# event loop and Redis pool; 14 turns got "redis did not answer turn enter within 5s" from
# an idle Redis, the false store notice, and never reached the agent. A slow answer is
# asked again (the same token: the first try may have run); only an unreachable Redis, or
# one silent for ``redis_patience``, is an outage.


async def test_a_turn_waits_out_a_redis_slower_than_the_op_timeout(
    make_gate: GateFactory, redis_client: aioredis.Redis, conversation: str
) -> None:
    gate = make_gate(op_timeout=0.1)
    async with gate.enter("warm:up:scripts:", "Ev0"):  # the script cached: one EVALSHA
        pass
    # Redis holds every write (scripts included) for 0.5 s, as a saturated shard sees it.
    await redis_client.client_pause(500, all=False)
    try:
        async with asyncio.timeout(PATIENCE):
            async with gate.enter(conversation, "Ev1") as ticket:
                assert ticket is not None
                assert (ticket.arrival, ticket.turn_number) == (1, 1)
    finally:
        await redis_client.client_unpause()
    async with gate.enter(conversation, "Ev2") as second:  # entered once, not twice
        assert second is not None
        assert (second.arrival, second.turn_number) == (2, 2)
    async with gate.enter(conversation, "Ev1") as again:  # still a duplicate later
        assert again is None


async def test_a_redis_silent_past_the_patience_is_still_an_outage(
    make_gate: GateFactory, redis_client: aioredis.Redis, conversation: str
) -> None:
    gate = make_gate(op_timeout=0.05, redis_patience=0.2)
    await redis_client.client_pause(60_000, all=False)
    try:
        with pytest.raises(SessionStoreError, match="did not answer turn enter"):
            async with asyncio.timeout(PATIENCE):
                async with gate.enter(conversation, "Ev1"):
                    pytest.fail("entered without an answer from redis")
    finally:
        await redis_client.client_unpause()


async def _now(value: Any) -> Any:
    """``value`` as the awaitable ``_until`` probes."""
    return value


def _answer_lost_once(
    monkeypatch: pytest.MonkeyPatch, name: str, *, when: Callable[[Any], bool]
) -> list[Any]:
    """The gate's script ``name`` runs in Redis, but its first reply matching ``when`` is
    lost (the caller's deadline passed first); returns every reply Redis gave."""
    import core.sessions.gate as gate_module
    from core.redis import StoreTimeout

    script = getattr(gate_module, name)
    replies: list[Any] = []

    async def lossy(*args: Any, **kwargs: Any) -> Any:
        reply = await script(*args, **kwargs)
        replies.append(reply)
        if when(reply) and sum(1 for r in replies if when(r)) == 1:
            raise StoreTimeout(f"redis did not answer {script.name} within 5s")
        return reply

    monkeypatch.setattr(gate_module, name, lossy)
    return replies


async def test_an_enter_whose_answer_was_lost_keeps_the_turn_and_its_place(
    make_gate: GateFactory, conversation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lost ENTER had taken the lock: asked again, it is that turn, not a duplicate."""
    replies = _answer_lost_once(monkeypatch, "ENTER", when=lambda r: r[0] == 1)
    gate = make_gate()
    async with gate.enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        assert (ticket.arrival, ticket.turn_number) == (1, 1)
    assert [r[0] for r in replies] == [1, 1]
    async with gate.enter(conversation, "Ev2") as second:
        assert second is not None
        assert (second.arrival, second.turn_number) == (2, 2)


async def test_a_queued_enter_whose_answer_was_lost_is_queued_once_in_its_place(
    make_gate: GateFactory, redis_client: aioredis.Redis, namespace: str, conversation: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    keys = SessionKeys(conversation, namespace=namespace)
    replies = _answer_lost_once(monkeypatch, "ENTER", when=lambda r: r[0] == 2)
    holder, waiter, later = make_gate(), make_gate(), make_gate()
    order: list[int] = []

    async def turn(gate: TurnGate, event_id: str) -> None:
        async with gate.enter(conversation, event_id) as ticket:
            assert ticket is not None
            order.append(ticket.arrival)
            assert ticket.turn_number == ticket.arrival  # each turn counted once

    async with holder.enter(conversation, "Ev1") as first:
        assert first is not None
        queued = asyncio.create_task(turn(waiter, "Ev2"))
        await _until(lambda: redis_client.zcard(keys.queue), 1)
        await _until(lambda: _now(len(replies)), 3)  # entered, answer lost, asked again
        third = asyncio.create_task(turn(later, "Ev3"))
        await _until(lambda: redis_client.zcard(keys.queue), 2)
    async with asyncio.timeout(PATIENCE):
        await asyncio.gather(queued, third)
    assert [r[:2] for r in replies[1:]] == [[2, 2], [2, 2], [2, 3]]
    assert order == [2, 3]
    assert await redis_client.zcard(keys.queue) == 0


async def test_a_poll_whose_answer_was_lost_keeps_the_lock_it_took(
    make_gate: GateFactory, conversation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = _answer_lost_once(monkeypatch, "POLL", when=lambda r: r[0] == 1)
    holder, waiter = make_gate(), make_gate()
    async with holder.enter(conversation, "Ev1") as first:
        assert first is not None
        queued = asyncio.create_task(_enter_and_report(waiter, conversation, "Ev2"))
        await _until(lambda: _now(bool(replies)), True)
    async with asyncio.timeout(PATIENCE):
        second = await queued
    assert (second.arrival, second.turn_number) == (2, 2)  # not waiting on itself, not 3
    assert [r[0] for r in replies[-2:]] == [1, 1]


async def test_a_busy_connection_pool_is_a_slow_answer_not_an_outage(redis_url: str) -> None:
    """Waiting for a free pooled connection is a burst, not Redis down."""
    from core.redis import StoreTimeout, guarded

    pool = aioredis.BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=0.05)
    client = aioredis.Redis.from_pool(pool)
    try:
        busy = await pool.get_connection()  # type: ignore[no-untyped-call]  # the only one, held
        with pytest.raises(StoreTimeout, match="no redis connection was free"):
            await guarded("turn enter", client.ping())
        await pool.release(busy)
        assert await guarded("turn enter", client.ping())
    finally:
        await client.aclose()


async def test_a_turn_whose_enter_was_asked_again_past_the_ttl_still_holds_its_lock(
    redis_url: str, namespace: str, conversation: str
) -> None:
    """Redis answers the enter only at its fourth try (each given up after 0.4 s), longer
    than the lock's 1 s TTL after the first: the lock's expiry counts from the try that
    answered (the one that took it), not from the first, so the turn holds it."""
    async with SlowRedis(redis_url) as proxy:
        for _ in range(3):
            proxy.swallow(ENTER.sha.encode())
        client = redis_client(proxy.url)
        gate = TurnGate(client, namespace=namespace, lock_ttl=1.0, op_timeout=0.4)
        try:
            async with asyncio.timeout(PATIENCE), gate.enter(conversation, "Ev1") as ticket:
                assert ticket is not None
                assert len(proxy.swallowed) == 3
                await ticket.check_lock()  # raises LockLost when the turn no longer holds it
                assert not ticket.lock_lost.is_set()
        finally:
            await client.aclose()


GROWTH_CONVERSATIONS = 20  # each left one wakeup: a few show the growth as well as many


@pytest.mark.parametrize("gives_up", ["max_wait spent", "superseded"])
async def test_waiters_giving_up_behind_another_replica_leave_no_wakeup(
    make_gate: GateFactory, namespace: str, gives_up: str
) -> None:
    """A waiter's wakeup was dropped only by a release in its own gate: one that gave up
    behind another replica's turn left one per conversation for the life of the process,
    as a load-balanced Slack app meets in busy threads."""
    policy = "interrupt" if gives_up == "superseded" else "queue"
    holder = make_gate(policy=policy, lock_ttl=60.0)
    waiter = make_gate(policy=policy, max_wait=0.05 if gives_up == "max_wait spent" else 60.0)

    async def held_turn(conversation: str) -> None:
        """Hold ``conversation`` on ``holder`` while a message in ``waiter`` gives up."""
        async with holder.enter(conversation, "Ev1") as first:
            assert first is not None
            waiting = asyncio.create_task(_enter_and_report(waiter, conversation, "Ev2", none=True))
            if gives_up == "max_wait spent":
                with pytest.raises(GateTimeout):
                    await waiting
                return
            await first.cancelled.wait()  # Ev2 is queued: it asked the running turn to stop
            newest = asyncio.create_task(_enter_and_report(holder, conversation, "Ev3"))
            assert await waiting is None  # superseded by Ev3, on the holder's replica
        await newest

    async with asyncio.timeout(PATIENCE):
        await asyncio.gather(
            *(held_turn(f"{namespace}:grow-{i}") for i in range(GROWTH_CONVERSATIONS))
        )
    assert len(waiter._wakeups) == 0  # 20 before: one per conversation given up
