"""Metrics after a scripted conversation: the real responder, relay and scheduler on a
recording surface and real Redis; the counters must match what happened."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from core.errors import RateLimited
from core.ops import metrics
from core.ops.metrics import REGISTRY
from core.redis import guarded
from core.relay.relay import Relay
from core.relay.scheduler import EditScheduler
from core.responder import Responder
from core.sessions.gate import TurnGate
from core.surface import BudgetScope
from core.turn import ThreadRef, Turn
from tests.fake_agent import ScriptedAgent
from tests.surfaces import DEFAULT_LIMITS, RecordingSurface
from tests.waiting import eventually

FAST = replace(DEFAULT_LIMITS, min_edit_interval=0.02)


def failing_on_request() -> ScriptedAgent:
    """Streams a few tokens; a message containing ``fail`` breaks after the first one."""
    return ScriptedAgent(0.03, words=lambda m: ["answer", " to", f" {m}"], fail_if="fail")


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_counters_match_a_scripted_conversation(
    redis: aioredis.Redis, namespace: str
) -> None:
    # A platform name of this test's own: the registry is process-wide.
    platform = f"metrics-{uuid.uuid4().hex[:8]}"
    where = ThreadRef(platform=platform, workspace="W", channel="C", thread="T")
    surface = RecordingSurface(limits=FAST)
    gate = TurnGate(redis, namespace=namespace, poll_interval=0.02)
    relay = Relay(surface, EditScheduler())
    responder = Responder(agent=failing_on_request(), gate=gate, relay=relay, max_input_chars=1000)
    texts = ["first", "please fail", "third"]
    for index, text in enumerate(texts):
        turn = Turn(where=where, user="U1", message_id=f"m{index}", text=text)
        result = await responder.handle(turn)
        assert result.status == "answered"
    assert value("threadcast_turns_started_total", platform=platform) == 3
    finished = "threadcast_turns_finished_total"
    assert value(finished, platform=platform, status="completed") == 2
    assert value(finished, platform=platform, status="failed") == 1
    assert value(finished, platform=platform, status="cancelled") == 0
    assert value("threadcast_turns_failed_total", platform=platform) == 1
    assert value("threadcast_active_streams", platform=platform) == 0
    posts = value("threadcast_edits_total", platform=platform, action="post")
    edits = value("threadcast_edits_total", platform=platform, action="edit")
    recorded = surface.calls_of("post") + surface.calls_of("edit")
    assert posts >= 3 and posts + edits == len(recorded)
    # Each reply showed agent text (the failed one its first token): three first texts.
    assert value("threadcast_first_visible_seconds_count", platform=platform) == 3
    assert value("threadcast_staleness_seconds_count", platform=platform) == posts + edits
    exposition = metrics.exposition().decode()
    assert f'threadcast_turns_started_total{{platform="{platform}"}} 3.0' in exposition


async def test_a_stream_in_flight_is_an_active_stream(
    redis: aioredis.Redis, namespace: str
) -> None:
    platform = f"metrics-{uuid.uuid4().hex[:8]}"
    where = ThreadRef(platform=platform, workspace="W", channel="C", thread="T")
    gate = TurnGate(redis, namespace=namespace, poll_interval=0.02)
    surface = RecordingSurface(limits=FAST)
    responder = Responder(
        agent=failing_on_request(), gate=gate, relay=Relay(surface, EditScheduler()),
        max_input_chars=1000,
    )  # fmt: skip
    turn = Turn(where=where, user="U1", message_id="m1", text="slowly")
    running = asyncio.create_task(responder.handle(turn))
    await eventually(lambda: bool(surface.calls_of("post")), what="the reply posted")
    assert value("threadcast_active_streams", platform=platform) == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert value("threadcast_active_streams", platform=platform) == 0
    finished = "threadcast_turns_finished_total"
    assert value(finished, platform=platform, status="cancelled") == 1


async def test_429s_are_counted_by_platform() -> None:
    before = value("threadcast_rate_limited_total", platform="slack")
    scheduler = EditScheduler()
    scope = BudgetScope("slack:T1:chat.update", rate=1.0)
    scheduler.rate_limited([scope], RateLimited(0.5, scope=scope.key))
    scheduler.rate_limited([scope], RateLimited(0.5))
    assert value("threadcast_rate_limited_total", platform="slack") == before + 2


async def test_a_429_met_by_a_reply_is_counted(redis: aioredis.Redis, namespace: str) -> None:
    platform = f"metrics-{uuid.uuid4().hex[:8]}"
    where = ThreadRef(platform=platform, workspace="W", channel="C", thread="T")
    scope = BudgetScope(f"{platform}:edits", rate=50.0)
    surface = RecordingSurface(limits=FAST, scopes=[scope])
    surface.fail("post", RateLimited(0.01), times=1)
    responder = Responder(
        agent=failing_on_request(), gate=TurnGate(redis, namespace=namespace),
        relay=Relay(surface, EditScheduler()), max_input_chars=1000,
    )  # fmt: skip
    result = await responder.handle(Turn(where=where, user="U", message_id="m", text="hi"))
    assert result.outcome is not None and result.outcome.status == "completed"
    assert value("threadcast_rate_limited_total", platform=platform) == 1


async def test_redis_errors_are_counted() -> None:
    before = value("threadcast_redis_errors_total")
    dead = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        with pytest.raises(Exception, match="redis"):
            await guarded("PING", dead.ping(), within=1.0)
    finally:
        await dead.aclose()
    assert value("threadcast_redis_errors_total") == before + 1
