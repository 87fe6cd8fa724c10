"""Redis Cluster failover while a reply streams: the master holding the conversation's slot
is killed (SIGKILL) and its replica promoted. The reply ends with its text or a notice,
nothing hangs, and once the old master has restarted (rejoining as a replica) the next turn
in the same conversation is answered, on the new master.

The single-server version (the server stops mid-reply) is
``tests/test_responder.py::test_redis_dying_mid_turn_neither_hangs_nor_loses_the_reply``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from core.config import load_settings
from core.relay import Relay
from core.relay.scheduler import EditScheduler
from core.responder import Responder
from core.sessions.connect import open_redis
from core.sessions.gate import TurnGate
from core.sessions.keys import SessionKeys, conversation_key
from core.turn import ThreadRef, Turn
from tests.fake_agent import ScriptedAgent
from tests.redis.cluster import LocalCluster
from tests.surfaces import DEFAULT_LIMITS, RecordingSurface

WHERE = ThreadRef(platform="test", workspace="W", channel="C", thread="T-failover")
FAST = replace(DEFAULT_LIMITS, min_edit_interval=0.05)
WORDS = 40
PATIENCE = 60  # a safety net so a hang fails the test; never a speed claim


def slow_agent(delay: float) -> ScriptedAgent:
    """Streams ``WORDS`` words for a message, ``delay`` seconds apart: 6 s, longer than a
    failover (about 2 s: node timeout 0.5 s, then the replica's election)."""
    return ScriptedAgent(delay, words=lambda m: [f"{m}{index} " for index in range(WORDS)])


@pytest.fixture
def own_cluster(tmp_path: Path) -> Iterator[LocalCluster]:
    """A cluster of this test's own: it loses a node."""
    with LocalCluster(tmp_path / "cluster") as running:
        yield running


async def test_a_master_failover_mid_reply_ends_it_cleanly_and_the_next_turn_works(
    own_cluster: LocalCluster, namespace: str
) -> None:
    redis, _ = await open_redis(load_settings(redis_url=own_cluster.url, redis_cluster=True))
    agent, surface = slow_agent(0.15), RecordingSurface(limits=FAST)
    gate = TurnGate(redis, namespace=namespace, poll_interval=0.05, lock_ttl=2.0)
    responder = Responder(
        agent=agent, gate=gate, relay=Relay(surface, EditScheduler()), max_input_chars=1000
    )
    conversation = conversation_key(WHERE, user="U1", is_dm=False)
    lock_key = SessionKeys(conversation, namespace=namespace).lock
    try:
        async with asyncio.timeout(PATIENCE):
            during = asyncio.create_task(
                responder.handle(Turn(where=WHERE, user="U1", message_id="1", text="w"))
            )
            await agent.began.wait()
            old, new = await asyncio.to_thread(own_cluster.fail_over, lock_key)
            assert new is not old
            assert not during.done(), "the failover is over while the reply still streams"
            first = await during
            # The reply ended: its whole text, or its partial text with a notice.
            (shown,) = surface.texts(WHERE)
            assert shown.startswith("w0 "), shown
            complete = shown.rstrip().endswith(f"w{WORDS - 1}")
            assert complete or "⚠️" in shown, shown
            assert first.status in {"answered", "store_failed"}, first
            # The old master restarts and rejoins (as the new master's replica).
            await asyncio.to_thread(old.start)
            # Only the first reply had to outlast a failover: the next one is asked whether
            # it is answered at all, not to take another 6 s about it.
            agent.delay = 0.01

            after = await responder.handle(Turn(where=WHERE, user="U1", message_id="2", text="x"))
            assert after.status == "answered", after
            assert after.outcome is not None and after.outcome.status == "completed"
            assert surface.texts(WHERE)[-1].rstrip().endswith(f"x{WORDS - 1}")
    finally:
        await redis.aclose()
