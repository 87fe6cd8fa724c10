"""The responder end to end in one process: real Redis, the real relay and scheduler, a
recording surface, and the scripted in-process agent (``tests/fake_agent.py``)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis
from pydantic import BaseModel

from core.agents.base import AgentRequest
from core.agents.demo import DemoAgent
from core.config import load_settings
from core.errors import ConfigError
from core.governance.access import Admission
from core.governance.notices import AccessNotices
from core.models import AgentStream
from core.ops.tasks import TurnTasks
from core.relay.relay import Relay
from core.relay.scheduler import EditScheduler
from core.responder import Responder
from core.sessions.embedded import EmbeddedRedis
from core.sessions.gate import Ticket, TurnGate
from core.sessions.keys import SessionKeys, conversation_key
from core.sessions.lock import EXTEND
from core.texts import DENIED, INTERRUPTED, LOCK_LOST, NOT_ANSWERED
from core.turn import ThreadRef, Turn
from tests.bots.discord.slow_redis import SlowRedis
from tests.fake_agent import ScriptedAgent
from tests.surfaces import DEFAULT_LIMITS, RecordingSurface
from tests.waiting import PATIENCE, eventually

WHERE = ThreadRef(platform="test", workspace="W", channel="C", thread="T")
FAST = replace(DEFAULT_LIMITS, min_edit_interval=0.05)
_CONVERSATION = conversation_key(WHERE, user="U1", is_dm=False)


def _turn(text: str, message_id: str, where: ThreadRef = WHERE) -> Turn:
    return Turn(where=where, user="U1", message_id=message_id, text=text)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def arrived(redis: aioredis.Redis, namespace: str, *, count: int) -> None:
    """Until the gate has numbered ``count`` arrivals in the thread (the turn is in line)."""
    order = SessionKeys(_CONVERSATION, namespace=namespace).order

    async def numbered() -> bool:
        return int(await redis.hget(order, "seq") or 0) >= count

    await eventually(numbered, what=f"{count} turns registered")


def _responder(
    redis: aioredis.Redis,
    namespace: str,
    agent: ScriptedAgent,
    surface: RecordingSurface,
    *,
    policy: str = "queue",
) -> Responder:
    gate = TurnGate(redis, namespace=namespace, policy=policy, poll_interval=0.02)  # type: ignore[arg-type]
    relay = Relay(surface, EditScheduler())
    return Responder(agent=agent, gate=gate, relay=relay, max_input_chars=1000)


async def test_a_redelivered_message_is_answered_once(
    redis: aioredis.Redis, namespace: str
) -> None:
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    first = await responder.handle(_turn("hello", "m1"))
    again = await responder.handle(_turn("hello", "m1"))
    assert first.status == "answered" and again.status == "duplicate"
    assert len(agent.calls) == 1
    assert surface.texts(WHERE) == ["reply to hello"]


class _PrivateSurface(RecordingSurface):
    """A recording surface that can also tell one user something privately."""

    def __init__(self) -> None:
        super().__init__(limits=FAST)
        self.private: list[str] = []

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        self.private.append(markdown)


class _FalsySurface(_PrivateSurface):
    """False in a test of truth, as a surface defining ``__len__`` may be."""

    def __bool__(self) -> bool:
        return False


async def test_a_refusal_goes_to_the_surface_given_even_a_falsy_one(
    redis: aioredis.Redis, namespace: str
) -> None:
    relays_own, given = _PrivateSurface(), _FalsySurface()
    responder = _responder(redis, namespace, ScriptedAgent(), relays_own)
    notices = AccessNotices(redis, namespace=namespace)
    responder.governance = replace(responder.governance, notices=notices)
    await responder.refuse(_turn("hello", "m1"), Admission(False, "channel"), surface=given)
    assert given.private == [DENIED["channel"]] and relays_own.private == []


async def test_turns_of_one_thread_run_one_at_a_time_in_order(
    redis: aioredis.Redis, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.sessions.gate as gate_module
    from core.sessions.scripts import ENTER as enter

    # Arrival order is the order the gate registered the turns in Redis: each message is
    # sent once the one before it has registered (its ENTER answered).
    registered: asyncio.Queue[None] = asyncio.Queue()

    async def registering(*args: Any, **kwargs: Any) -> Any:
        reply = await enter(*args, **kwargs)
        registered.put_nowait(None)
        return reply

    monkeypatch.setattr(gate_module, "ENTER", registering)
    agent, surface = ScriptedAgent(delay=0.02), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    messages = [f"m{i}" for i in range(6)]
    tasks = []
    for index, text in enumerate(messages):
        tasks.append(asyncio.create_task(responder.handle(_turn(text, f"id{index}"))))
        await registered.get()
    results = await asyncio.gather(*tasks)
    assert [result.status for result in results] == ["answered"] * len(messages)
    assert agent.started == messages
    assert surface.texts(WHERE) == [f"reply to {text}" for text in messages]
    assert len({session for _, session in agent.calls}) == 1


async def test_other_threads_get_other_sessions(redis: aioredis.Redis, namespace: str) -> None:
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    other = replace(WHERE, thread="T2")
    await responder.handle(_turn("a", "1"))
    await responder.handle(_turn("b", "2", other))
    await responder.handle(_turn("c", "3"))
    sessions = [session for _, session in agent.calls]
    assert sessions[0] == sessions[2] != sessions[1]


async def test_new_conversation_gives_the_thread_a_fresh_session(
    redis: aioredis.Redis, namespace: str
) -> None:
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    await responder.handle(_turn("a", "1"))
    fresh = await responder.new_conversation(WHERE, user="U1", is_dm=False)
    await responder.handle(_turn("b", "2"))
    assert agent.calls[1][1] == fresh != agent.calls[0][1]


async def test_interrupt_policy_stops_the_running_reply_for_the_new_one(
    redis: aioredis.Redis, namespace: str
) -> None:
    agent, surface = ScriptedAgent(delay=0.5), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface, policy="interrupt")
    first = asyncio.create_task(responder.handle(_turn("slow", "1")))
    await agent.began.wait()
    second = await responder.handle(_turn("newer", "2"))
    earlier = await first
    assert earlier.outcome is not None and earlier.outcome.status == "cancelled"
    assert agent.closed == ["slow"]  # the agent stream was really closed
    assert second.outcome is not None and second.outcome.status == "completed"


async def test_stop_cancels_the_reply_and_closes_the_agent_stream(
    redis: aioredis.Redis, namespace: str
) -> None:
    agent, surface = ScriptedAgent(delay=0.5), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    running = asyncio.create_task(responder.handle(_turn("long", "1")))
    await eventually(lambda: bool(surface.texts(WHERE)), what="the first token shown")
    assert await responder.stop(WHERE, user="U1", is_dm=False)
    result = await running
    assert result.outcome is not None and result.outcome.status == "cancelled"
    assert agent.closed == ["long"]
    assert "reply" in surface.texts(WHERE)[0]  # the partial text stays


async def test_redis_down_gives_a_notice_not_a_hang(namespace: str) -> None:
    dead = aioredis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.5, socket_timeout=0.5
    )
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    responder = _responder(dead, namespace, agent, surface)
    result = await responder.handle(_turn("hello", "1"))
    await dead.aclose()
    assert result.status == "store_failed"
    assert agent.calls == []
    assert "Redis" in surface.texts(WHERE)[0]


async def test_redis_dying_mid_turn_neither_hangs_nor_loses_the_reply(
    tmp_path: Path, namespace: str
) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    client = aioredis.from_url(
        await server.start(), decode_responses=True, socket_timeout=0.5, socket_connect_timeout=0.5
    )
    agent, surface = ScriptedAgent(delay=0.3), RecordingSurface(limits=FAST)
    responder = _responder(client, namespace, agent, surface)
    running = asyncio.create_task(responder.handle(_turn("before", "1")))
    await agent.began.wait()
    await server.stop()
    result = await running
    assert result.status == "answered"
    assert result.outcome is not None and result.outcome.status == "completed"
    assert surface.texts(WHERE) == ["reply to before"]

    after = await responder.handle(_turn("after", "2"))
    assert after.status == "store_failed"
    assert "Redis" in surface.texts(WHERE)[-1]
    await client.aclose()


class Forecast(BaseModel):
    city: str
    days: int


async def test_a_configured_response_format_reaches_the_agent_and_the_surface(
    redis: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface(limits=FAST)
    gate = TurnGate(redis, namespace=namespace, poll_interval=0.02)
    responder = Responder(
        agent=DemoAgent(delay=0),
        gate=gate,
        relay=Relay(surface, EditScheduler()),
        max_input_chars=1000,
        response_format=Forecast,
    )
    result = await responder.handle(_turn("the weather, please", "1"))
    assert result.outcome is not None and result.outcome.status == "completed"
    structured = surface.calls_of("structured")
    assert len(structured) == 1
    assert isinstance(structured[0].data, Forecast)


def test_response_format_is_checked_at_start_up() -> None:
    settings = load_settings(response_format="tests.test_responder:Forecast")
    assert settings.response_model is Forecast
    for bad in ("tests.test_responder:Nope", "no.such.module:X", "tests.test_responder:WHERE"):
        with pytest.raises(ConfigError, match="THREADCAST_RESPONSE_FORMAT"):
            load_settings(response_format=bad)


async def test_shutdown_interrupts_the_reply_and_tells_the_waiting_message_to_come_again(
    redis: aioredis.Redis, namespace: str
) -> None:
    agent, surface = ScriptedAgent(delay=0.5), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    tasks = TurnTasks(finalise_timeout=5)
    tasks.spawn(responder.handle(_turn("first", "1")), name="first")
    await eventually(lambda: bool(surface.texts(WHERE)), what="the first reply shown")
    tasks.spawn(responder.handle(_turn("second", "2")), name="second")  # queued behind
    await arrived(redis, namespace, count=2)
    await tasks.drain(0.1)
    texts = surface.texts(WHERE)
    assert texts[0].endswith(INTERRUPTED)
    assert texts[1] == NOT_ANSWERED
    assert agent.started == ["first"]


def revoked_key_agent() -> ScriptedAgent:
    """An agent whose API key was revoked: every stream fails with 401."""
    from core.errors import AgentAuthError

    error = AgentAuthError("Invalid API key", status=401)
    return ScriptedAgent(0, fail_if="", fail_at=0, error=error)


async def test_an_agent_failure_is_logged_once_at_warning_and_counted(
    redis: aioredis.Redis, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 18.12: the operator of a bot with a revoked key sees the error."""
    from core.ops.metrics import REGISTRY

    def failures() -> float:
        labels = {"platform": "test", "kind": "auth"}
        return REGISTRY.get_sample_value("threadcast_agent_failures_total", labels) or 0.0

    surface = RecordingSurface(limits=FAST)
    gate = TurnGate(redis, namespace=namespace, poll_interval=0.02)
    responder = Responder(
        agent=revoked_key_agent(), gate=gate, relay=Relay(surface, EditScheduler()),
        max_input_chars=1000,
    )  # fmt: skip
    before = failures()
    with caplog.at_level("WARNING"):
        result = await responder.handle(_turn("hello", "msg-401"))
    assert result.status == "answered" and result.outcome is not None
    assert result.outcome.status == "failed"
    lines = [r for r in caplog.records if r.levelname == "WARNING" and "failed (auth)" in r.message]
    assert len(lines) == 1
    assert result.conversation in lines[0].message and "msg-401" in lines[0].message
    assert failures() == before + 1


def slow_agent() -> ScriptedAgent:
    """Fifteen words, one a second: a reply longer than the turn timeout below."""
    return ScriptedAgent(1.0, words=lambda message: [f"w{index} " for index in range(15)])


async def test_the_turn_timeout_setting_bounds_a_turn(redis_url: str, namespace: str) -> None:
    """Issue 18.5: THREADCAST_TURN_TIMEOUT was read but never applied; a 15 s reply with it
    set to 2 ran to the end."""
    from core.config import Settings
    from core.errors import AgentTimeoutError
    from core.runtime import Runtime

    settings = Settings(redis_url=redis_url, agent="demo", turn_timeout=2.0, port=0)
    surface = RecordingSurface(limits=FAST)
    async with Runtime(settings, agent=slow_agent(), namespace=namespace) as runtime:
        result = await runtime.responder(surface).handle(_turn("take your time", "m-slow"))
    assert result.outcome is not None and result.outcome.status == "failed"
    assert isinstance(result.outcome.error, AgentTimeoutError)
    assert "w14" not in result.outcome.text  # cut, not run to the end
    assert AgentTimeoutError.notice in surface.texts(WHERE)[-1]


class HeldAgent(ScriptedAgent):
    """Sends its first token, then waits for ``resume`` before the rest: a reply still
    streaming for as long as the test needs."""

    def __init__(self) -> None:
        super().__init__()
        self.resume = asyncio.Event()

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        async for chunk in super()._stream(request):
            yield chunk
            await self.resume.wait()


@contextlib.asynccontextmanager
async def _responder_through(
    proxy: SlowRedis, namespace: str, agent: Any, surface: RecordingSurface
) -> AsyncIterator[tuple[aioredis.Redis, Responder]]:
    """A responder whose gate (its lock living 1 s unless extended) reaches Redis through
    ``proxy``, with that client."""
    client: aioredis.Redis = aioredis.from_url(proxy.url, decode_responses=True)
    gate = TurnGate(client, namespace=namespace, lock_ttl=1.0, poll_interval=0.02)
    relay = Relay(surface, EditScheduler())
    try:
        yield client, Responder(agent=agent, gate=gate, relay=relay, max_input_chars=1000)
    finally:
        await client.aclose()


def _late_to_the_agent(monkeypatch: pytest.MonkeyPatch, *, until: asyncio.Event) -> None:
    """The turn of "first" is slow to reach its agent (a starved loop): it routes only once
    its lock is lost and ``until`` is set."""
    route = Responder._agent_for

    async def route_late(self: Responder, admitted: Any, ticket: Ticket) -> Any:
        if admitted.turn.text == "first":
            await ticket.lock_lost.wait()
            await until.wait()
        return await route(self, admitted, ticket)

    monkeypatch.setattr(Responder, "_agent_for", route_late)


async def test_a_turn_whose_lock_was_taken_by_a_later_one_does_not_call_the_agent(
    redis_url: str, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis never answers the lock's heartbeats, and the first turn is slow to reach its
    agent: its lock runs out, the second message's turn takes the conversation and is
    answered. The first turn then finds its lock lost and cannot take it back without
    breaking the order, so its agent is not called (the message would reach the session
    after the later one) and its user is told to send it again."""
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    _late_to_the_agent(monkeypatch, until=agent.began)
    async with SlowRedis(redis_url) as proxy:
        proxy.swallow(EXTEND.sha.encode(), every=True)
        async with _responder_through(proxy, namespace, agent, surface) as (client, responder):
            async with asyncio.timeout(PATIENCE):
                first = asyncio.create_task(responder.handle(_turn("first", "1")))
                await arrived(client, namespace, count=1)
                second = await responder.handle(_turn("second", "2"))
                result = await first
    assert second.status == "answered"
    assert result.status == "store_failed"
    assert agent.started == ["second"]
    # The notice and the reply are posted concurrently (the first turn resumes once the
    # second's agent began): which lands first is not the point.
    assert sorted(surface.texts(WHERE)) == sorted([surface.render(LOCK_LOST), "reply to second"])


async def test_a_turn_whose_lock_ran_out_unclaimed_takes_it_again_and_answers(
    redis_url: str,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The same loss with no later message: no other turn has started, so taking the lock
    again keeps the order; the turn does, and answers (one Redis call, only on a loss)."""
    agent, surface = ScriptedAgent(), RecordingSurface(limits=FAST)
    lost = asyncio.Event()
    lost.set()
    _late_to_the_agent(monkeypatch, until=lost)
    async with SlowRedis(redis_url) as proxy:
        proxy.swallow(EXTEND.sha.encode(), every=True)
        async with _responder_through(proxy, namespace, agent, surface) as (_, responder):
            async with asyncio.timeout(PATIENCE):
                result = await responder.handle(_turn("first", "1"))
    assert result.status == "answered"
    assert agent.started == ["first"]
    assert surface.texts(WHERE) == ["reply to first"]
    assert any("taken again" in r.getMessage() for r in caplog.records)


async def test_a_reply_whose_lock_is_lost_mid_stream_is_shown_in_full(
    redis_url: str, namespace: str
) -> None:
    """Once the agent has the message, losing the lock does not cut the reply short:
    that would not take the message back from the agent's session, only lose the answer."""
    agent, surface = HeldAgent(), RecordingSurface(limits=FAST)
    async with (
        SlowRedis(redis_url) as proxy,
        _responder_through(proxy, namespace, agent, surface) as (_, responder),
    ):
        async with asyncio.timeout(PATIENCE):
            running = asyncio.create_task(responder.handle(_turn("hello", "1")))
            await agent.began.wait()
            proxy.swallow(EXTEND.sha.encode(), every=True)
            await responder.gate._running[_CONVERSATION].lost.wait()
            agent.resume.set()
            result = await running
    assert result.status == "answered"
    assert result.outcome is not None and result.outcome.status == "completed"
    assert surface.texts(WHERE) == ["reply to hello"]


async def test_a_shutdown_while_the_turn_is_made_ready_tells_the_message_to_come_again(
    redis: aioredis.Redis, namespace: str
) -> None:
    """``ready`` (Slack: the names of the people a message mentions, the assistant thread's
    title) runs under the lock, before the agent has the message: a shutdown there used to
    end the turn without a word, though nothing of it had reached the agent."""
    agent, surface = ScriptedAgent(delay=0), RecordingSurface(limits=FAST)
    responder = _responder(redis, namespace, agent, surface)
    tasks = TurnTasks(finalise_timeout=5)
    entered, never = asyncio.Event(), asyncio.Event()

    async def ready(turn: Turn) -> Turn:  # a platform lookup that has not answered yet
        entered.set()
        await never.wait()
        return turn

    tasks.spawn(responder.handle(_turn("hello", "1"), ready=ready), name="ready")
    await asyncio.wait_for(entered.wait(), PATIENCE)
    await tasks.drain(0.1)
    assert surface.texts(WHERE) == [NOT_ANSWERED]
    assert agent.started == []
