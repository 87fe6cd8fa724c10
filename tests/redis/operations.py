"""Every family of Redis operations threadcast makes, run with its real code on a given
client (here: the cluster client ``REDIS_CLUSTER=true`` gives; see ``test_cluster.py``).

Sessions, dedup, the per-conversation lock and queue (a waiter giving up included), the
interrupt signal, withdrawn (deleted) questions, chat history (a MULTI/EXEC pipeline),
shared edit budgets, crash recovery, whole turns through the responder, the thread-context
marker and feedback votes. Each asserts its behaviour.
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import replace
from typing import Any

import pytest
import redis.asyncio as aioredis

from core.agents.history import ChatHistory
from core.context.marker import ContextMarker
from core.deployment.schema import QuotaSpec
from core.errors import PlatformUnavailable
from core.feedback.legacy import legacy_counts_key
from core.feedback.model import ReplyRef, ReplyTag
from core.feedback.service import Feedback
from core.feedback.store import FeedbackStore
from core.governance.controls import Controls
from core.governance.quotas import QuotaBook, QuotaGrant, QuotaRefusal
from core.ops.recovery import Recovery, RegisteredReply
from core.relay import Relay
from core.relay.scheduler import EditScheduler
from core.relay.shared_budget import SharedBudgetStore
from core.responder import Responder
from core.routing.pins import AgentPins
from core.routing.routes import RouteChoice
from core.sessions.gate import GateTimeout, TurnGate
from core.sessions.keys import SessionKeys, conversation_key
from core.sessions.store import SessionStore
from core.sessions.withdrawals import Withdrawals
from core.surface import MessageRef, StrayCopy
from core.texts import ORPHAN_NOTICE
from core.turn import ThreadRef, Turn
from core.usage.book import TurnUsage, UsageBook
from tests.fake_agent import ScriptedAgent
from tests.ops.test_recovery import INDICATOR, LIMITS, kill, records, recovery, until
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import DEFAULT_LIMITS, THREAD, RecordingSurface
from tests.waiting import eventually

__all__ = ["FAMILIES"]

FAST = replace(DEFAULT_LIMITS, min_edit_interval=0.05)
PATIENCE = 20  # a safety net so a broken operation fails instead of hanging; not a speed claim


def _conversation(thread: str) -> str:
    return conversation_key(ThreadRef("slack", "T1", "C1", thread), user="U1", is_dm=False)


def _gate(redis: aioredis.Redis, namespace: str, **options: Any) -> TurnGate:
    options = {"poll_interval": 0.02, "signal_interval": 0.05, "lock_ttl": 0.9, **options}
    return TurnGate(redis, namespace=namespace, **options)


async def sessions_dedup_and_turns(redis: aioredis.Redis, namespace: str) -> None:
    """Session ids, metadata, a fresh session, dedup, and turns queued in arrival order by
    two gates (two replicas), one held past several lock heartbeats."""
    conversation = _conversation("1712.0001")
    store = SessionStore(redis, namespace=namespace, ttl=60)
    first = await store.session_id(conversation)
    assert await store.session_id(conversation) == first
    assert await store.mark_seen(conversation, "Ev0") is True
    assert await store.mark_seen(conversation, "Ev0") is False
    # The lock beats every ttl/3 (0.8 s): the first turn's hold spans three beats, and only
    # a loop stalled for two whole beats (1.6 s) would lose it.
    replicas = [_gate(redis, namespace, lock_ttl=2.4), _gate(redis, namespace, lock_ttl=2.4)]
    order: list[int] = []

    async def turn(index: int, hold: float) -> None:
        async with replicas[index % 2].enter(conversation, f"Ev{index}") as ticket:
            assert ticket is not None and ticket.session_id == first
            order.append(ticket.arrival)
            await asyncio.sleep(hold)  # the turn's work, held past three heartbeats
            assert not ticket.lock_lost.is_set()

    async def impatient() -> None:
        # A waiter that gives up leaves the queue (and does not block the turns behind it).
        with pytest.raises(GateTimeout):
            async with _gate(redis, namespace, max_wait=0.1).enter(conversation, "Ev9"):
                pass

    async with asyncio.timeout(PATIENCE):
        first_turn = asyncio.create_task(turn(1, 2.6))
        await eventually(lambda: _true(order))
        await impatient()
        await asyncio.gather(first_turn, turn(2, 0), turn(3, 0))
    assert order == sorted(order) and len(order) == 3
    async with replicas[0].enter(conversation, "Ev1") as again:
        assert again is None  # the same event, redelivered
    info = await store.info(conversation)
    assert info is not None and info.turns == 3 and info.session_id == first
    assert await replicas[1].new_session(conversation) != first


async def _true(items: list[int]) -> bool:
    return bool(items)


async def interrupt(redis: aioredis.Redis, namespace: str) -> None:
    """The interrupt policy: a new message stops the running turn (the cancel signal)."""
    conversation = _conversation("1712.0002")
    gate = _gate(redis, namespace, policy="interrupt")
    running = asyncio.Event()

    async def long_turn(event: str = "Ev1") -> bool:
        async with gate.enter(conversation, event) as ticket:
            assert ticket is not None
            running.set()
            await asyncio.wait_for(ticket.cancelled.wait(), PATIENCE)
            return True

    async with asyncio.timeout(PATIENCE):
        stopped = asyncio.create_task(long_turn())
        await running.wait()
        async with gate.enter(conversation, "Ev2") as newer:
            assert newer is not None
        assert await stopped
        assert not await gate.cancel(conversation)  # nothing left running
        # A stop from another replica reaches the holder through its stop inbox.
        other = _gate(redis, namespace, policy="interrupt")
        running.clear()
        stopped = asyncio.create_task(long_turn("Ev3"))
        await running.wait()
        assert await other.cancel(conversation)
        assert await stopped


async def withdrawals(redis: aioredis.Redis, namespace: str) -> None:
    """A deleted question: withdrawn before its turn begins it is dropped; withdrawn while
    its turn runs, that turn is asked to stop (from another replica's gate)."""
    conversation = _conversation("1712.0003")
    here, there = _gate(redis, namespace), _gate(redis, namespace)
    async with asyncio.timeout(PATIENCE):
        assert not await Withdrawals(there).withdraw(conversation, "Ev1")  # nothing running
        async with here.enter(conversation, "Ev1") as dropped:
            assert dropped is not None and not await Withdrawals(here).begin(dropped)
        async with here.enter(conversation, "Ev2") as ticket:
            assert ticket is not None and await Withdrawals(here).begin(ticket)
            assert await Withdrawals(there).withdraw(conversation, "Ev2")
            await ticket.cancelled.wait()
            assert await Withdrawals(here).withdrawn(conversation, "Ev2")


async def chat_history(redis: aioredis.Redis, namespace: str) -> None:
    history = ChatHistory(redis, namespace, max_messages=4)
    for n in range(3):
        await history.append("session-1", f"q{n}", f"a{n}")
    loaded = await history.load("session-1")
    assert [m["content"] for m in loaded] == ["q1", "a1", "q2", "a2"]


async def shared_budgets(redis: aioredis.Redis, namespace: str) -> None:
    """A token from three scopes at once (message, channel, workspace), and a 429 pause.

    The message scope refills once a minute and the pause lasts a minute: a loaded machine
    (10 tokens a second and a 1 s pause were outlasted between two calls beside two CPU
    burners) cannot refill or end them before the next call looks."""
    store = SharedBudgetStore(redis, namespace)
    scopes = [("slack:T1:C1:m1", 1 / 60, 1.0), ("slack:T1:C1", 10.0, 1.0), ("slack:T1", 50.0, 3.0)]
    assert (await store.take(scopes)).granted
    refused = await store.take(scopes)
    assert not refused.granted and refused.index == 0  # the message scope's burst is spent
    assert await store.pause("slack:T1", 60.0) == 1
    waiting = await store.take([("slack:T1:C2:m1", 10.0, 1.0), ("slack:T1", 50.0, 3.0)])
    assert not waiting.granted and waiting.index == 1  # the paused workspace holds it


async def crash_recovery(redis: aioredis.Redis, namespace: str) -> None:
    """A reply registered while it streams; its owner dies; another replica finishes it.
    Then a reply whose final edit an outage held back is handed over and finished, and a
    turn that never showed anything gets its notice, and a stray copy is left and taken
    (every recovery script runs)."""
    platform = RecordingSurface(limits=LIMITS)
    owner = recovery(redis, namespace, "owner-a", platform)
    relay = Relay(platform, SpyScheduler(), observer=owner)
    steps = [(0.0, "Partial answer"), (60.0, " never sent")]
    task = asyncio.create_task(relay.deliver(THREAD, scripted(steps)))
    (message_id,) = await _first_message(platform)
    # A crash after the record shows the page (the post's record write is one round trip
    # behind the post: killed before it lands, there is no page to finish).
    await eventually(lambda: _registered(redis, owner, "Partial answer" + INDICATOR))
    await kill(owner)
    other = recovery(redis, namespace, "replica-b", platform)
    try:
        assert await until(lambda: _final(platform, message_id), PATIENCE)
        notice = platform.render(ORPHAN_NOTICE)
        assert platform.texts() == [f"Partial answer\n\n{notice}"]
        assert INDICATOR not in platform.texts()[0]
        keys = other.registry.keys(THREAD.platform)
        assert keys is not None
        held = RegisteredReply(other.registry, keys, THREAD)
        await platform.post(THREAD, "All of it" + INDICATOR, streaming=True)
        message = MessageRef(THREAD, list(platform.messages)[-1])
        await held.sending(message, "All of it", final=True)  # the final edit then failed
        platform.fail("edit", PlatformUnavailable("service_unavailable"), times=1)  # retried later
        held.finished()
        assert await until(lambda: _final(platform, message.message_id), PATIENCE)
        assert platform.texts()[-1] == "All of it"
        # A stray copy left to the reapers (a surface that cannot sweep it: dropped).
        stray = StrayCopy(THREAD, "All", ("All" + INDICATOR,), 1_700_000_000.0, message_id)
        await other.registry.leave(keys, stray, delay=0.0)

        async def none_left() -> bool:
            return not await records(redis, other.registry)

        assert await until(none_left, PATIENCE)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await other.aclose()
        await owner.aclose()


async def _registered(redis: aioredis.Redis, owner: Recovery, text: str) -> bool:
    found = list((await records(redis, owner.registry)).values())
    pages = found[0]["pages"] if found else []
    return bool(pages) and pages[0][1] == text  # type: ignore[index]


async def _first_message(platform: RecordingSurface) -> list[str]:
    async def posted() -> bool:
        return bool(platform.messages)

    await eventually(posted)
    return list(platform.messages)


async def _final(platform: RecordingSurface, message_id: str) -> bool:
    return bool(platform.messages[message_id].final)


async def responder_turns(redis: aioredis.Redis, namespace: str) -> None:
    """Whole turns through the responder: answered, then a redelivery ignored."""
    where = ThreadRef("test", "W", "C", "T-cluster")
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    responder = Responder(
        agent=agent,
        gate=_gate(redis, namespace),
        relay=Relay(surface, EditScheduler()),
        max_input_chars=1000,
    )
    turn = Turn(where=where, user="U1", message_id="m1", text="hello")
    assert (await responder.handle(turn)).status == "answered"
    assert (await responder.handle(turn)).status == "duplicate"
    assert surface.texts(where) == ["reply to hello"]


async def governance(redis: aioredis.Redis, namespace: str) -> None:
    """The agent pinned at a turn's start, a quota taken and refused, Stop checked against
    the asker, and a turn's usage recorded and read back."""
    conversation = _conversation("1712.0301")
    gate = _gate(redis, namespace)
    pins = AgentPins(redis, namespace=namespace)
    async with gate.enter(conversation, "Ev-gov") as ticket:
        assert ticket is not None
        pinned = await pins.start_turn(
            conversation, RouteChoice("a", "default"), known=("a", "b"), user="U1",
            turn_number=ticket.turn_number,
        )  # fmt: skip
        assert pinned == RouteChoice("a", "default")
        controls = Controls(gate)
        assert await controls.stop(conversation, user="U2", any_reply=False) == "refused"
        assert await controls.stop(conversation, user="U1", any_reply=False) == "stopped"
    quotas = QuotaBook(redis, namespace=namespace, slot_ttl=30)
    limits = QuotaSpec(user_turns_per_hour=1, user_concurrent_replies=1)
    where = ThreadRef("slack", "T1", "C1", "1712.0302")
    first = await quotas.take(Turn(where=where, user="U1", message_id="m1", text="hi"), limits)
    assert isinstance(first, QuotaGrant)
    second = await quotas.take(Turn(where=where, user="U1", message_id="m2", text="hi"), limits)
    assert isinstance(second, QuotaRefusal) and second.kind == "user_turns"
    await quotas.release(first)
    usage = UsageBook(redis, namespace=namespace)
    # Today: a record's day expires retention_days + 1 days after it starts (a fixed date
    # here made the check fail once that day had passed).
    when = datetime.datetime.now(datetime.UTC)
    turn = TurnUsage("a", "default", "C1", "U1", 2, 40, 1.5, 0.2, error=False)
    await usage.record(turn, retention_days=1, when=when)
    by_agent = await usage.read("agent", [when.date()])
    assert by_agent["a"]["chars_out"] == 40, by_agent


async def feedback(redis: aioredis.Redis, namespace: str) -> None:
    """A reply's 👍 changed to 👎, whose reason landed first, and the votes counted; a
    reason about a 👎 taken back since not stored; the counts of the old key layout carried
    over on the store's first use."""
    await redis.hset(legacy_counts_key(namespace), "up:b", 2)
    store = FeedbackStore(redis, namespace=namespace)
    ref = ReplyRef("slack", "T1", "C1", "1712.0401")
    await store.tag(ReplyTag(ref, "1712.0400", _conversation("1712.0400"), "s-1", "a"))
    votes = Feedback(store)
    assert (await votes.vote(ref, "U1", "up")).status == "recorded"
    await votes.reason(ref, "U1", "Off topic.", asked="c1")
    assert (await votes.vote(ref, "U1", "down", click="c1")).status == "same"
    current = await store.current(ref, "U1")
    assert current is not None and (current.vote, current.reason) == ("down", "Off topic.")
    assert await store.counts() == {"a": {"up": 0, "down": 1}, "b": {"up": 2, "down": 0}}
    await votes.vote(ref, "U2", "down", click="c2")
    await votes.vote(ref, "U2", "up")
    assert (await votes.reason(ref, "U2", "Late.", asked="c2")).status == "stale"
    assert await store.counts() == {"a": {"up": 1, "down": 1}, "b": {"up": 2, "down": 0}}


async def context_marker(redis: aioredis.Redis, namespace: str) -> None:
    """The thread-context marker moved forward, never back within its session."""
    marker = ContextMarker(redis, namespace=namespace, ttl=60)
    conversation = _conversation("1712.0500")
    await marker.handed(conversation, "s-1", "C1:1712.000600")
    await marker.handed(conversation, "s-1", "C1:1712.000550")  # answered late: stays
    assert await marker.last(conversation, "s-1") == "C1:1712.000600"


async def lock_taken_again(redis: aioredis.Redis, namespace: str) -> None:
    """A turn whose lock expired under it (deleted here) learns it from its heartbeat and,
    no later turn having started, takes it again before its agent is called."""
    conversation = _conversation("1712.0004")
    lock_key = SessionKeys(conversation, namespace=namespace).lock
    async with _gate(redis, namespace, lock_ttl=2.4).enter(conversation, "Ev1") as ticket:
        assert ticket is not None
        token = await redis.get(lock_key)
        await redis.delete(lock_key)  # gone as if it had expired
        async with asyncio.timeout(PATIENCE):
            await ticket.lock_lost.wait()
            await ticket.check_lock()  # RETAKE: raises LockLost if it may not
        assert not ticket.lock_lost.is_set()
        assert await redis.get(lock_key) == token


FAMILIES = {
    "sessions, dedup, lock and queue": sessions_dedup_and_turns,
    "a lost lock taken again": lock_taken_again,
    "interrupt": interrupt,
    "withdrawn questions": withdrawals,
    "chat history": chat_history,
    "shared budgets": shared_budgets,
    "crash recovery": crash_recovery,
    "responder": responder_turns,
    "routing, quotas, controls and usage": governance,
    "feedback": feedback,
    "thread context marker": context_marker,
}
