from __future__ import annotations

import asyncio
import re
from pathlib import Path

import redis.asyncio as aioredis

from core.sessions.connect import redis_client
from core.sessions.embedded import EmbeddedRedis
from core.sessions.keys import SessionKeys, conversation_key
from core.sessions.store import SessionStore
from core.turn import ThreadRef

CONV = conversation_key(ThreadRef("slack", "T1", "C1", "1.1"), user="U1", is_dm=False)
OTHER = conversation_key(ThreadRef("slack", "T1", "C1", "2.2"), user="U1", is_dm=False)


async def test_same_conversation_same_id_other_thread_other_id(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = SessionStore(redis_client, namespace=namespace, ttl=60)
    first = await store.session_id(CONV)
    assert re.fullmatch(r"tc-[0-9a-f]{32}", first)
    assert await store.session_id(CONV) == first
    assert await store.session_id(OTHER) not in (first, None)


async def test_racing_first_messages_agree_on_one_id(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = SessionStore(redis_client, namespace=namespace, ttl=60)
    ids = await asyncio.gather(*(store.session_id(CONV) for _ in range(20)))
    assert len(set(ids)) == 1


async def test_id_survives_a_client_restart(redis_url: str, namespace: str) -> None:
    before = redis_client(redis_url)
    first = await SessionStore(before, namespace=namespace, ttl=60).session_id(CONV)
    await before.aclose()
    after = redis_client(redis_url)
    try:
        assert await SessionStore(after, namespace=namespace, ttl=60).session_id(CONV) == first
    finally:
        await after.aclose()


async def test_id_survives_an_embedded_server_restart(tmp_path: Path) -> None:
    ids = []
    for _ in range(2):
        server = EmbeddedRedis(tmp_path / "data")
        client = redis_client(await server.start())
        try:
            ids.append(await SessionStore(client, ttl=60).session_id(CONV))
        finally:
            await client.aclose()
            await server.stop()
    assert ids[0] == ids[1]


async def test_ttl_slides_on_use_and_an_idle_session_expires(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = SessionStore(redis_client, namespace=namespace, ttl=60)
    session_key = SessionKeys(CONV, namespace=namespace).session
    first = await store.session_id(CONV)
    assert 59_000 < await redis_client.pttl(session_key) <= 60_000
    # Time passes for Redis (no sleep): only 100 ms of the session's life are left.
    await redis_client.pexpire(session_key, 100)
    assert await store.session_id(CONV) == first
    # Without the slide at most 100 ms would be left; after it, close to the full minute.
    assert await redis_client.pttl(session_key) > 30_000
    # Idle to its end: Redis expires it, and the store starts a new session.
    await redis_client.pexpire(session_key, 1)
    async with asyncio.timeout(10):
        while await redis_client.exists(session_key):  # noqa: ASYNC110 - Redis state
            await asyncio.sleep(0.005)
    assert await store.info(CONV) is None
    assert await store.session_id(CONV) != first


async def test_new_session_replaces_the_id_and_resets_metadata(
    make_gate, namespace: str, conversation: str
) -> None:
    gate = make_gate()
    async with gate.enter(conversation, "e1") as ticket:
        assert ticket is not None
        old = ticket.session_id
    info = await gate.sessions.info(conversation)
    assert info is not None and info.turns == 1
    new = await gate.new_session(conversation)
    assert new != old
    assert await gate.sessions.session_id(conversation) == new
    info = await gate.sessions.info(conversation)
    assert info is not None and info.session_id == new and info.turns == 0
    async with gate.enter(conversation, "e2") as ticket:
        assert ticket is not None and ticket.session_id == new and ticket.turn_number == 1


async def test_info_reports_metadata_without_touching_the_ttl(
    redis_client: aioredis.Redis, namespace: str, make_gate, conversation: str
) -> None:
    gate = make_gate(session_ttl=30.0)
    assert await gate.sessions.info(conversation) is None
    for event in ("e1", "e2"):
        async with gate.enter(conversation, event):
            pass
    info = await gate.sessions.info(conversation)
    assert info is not None
    assert info.turns == 2
    assert info.created is not None and info.last_turn is not None
    assert info.last_turn >= info.created
    assert info.expires_in is not None and 0 < info.expires_in <= 30
    session_key = SessionKeys(conversation, namespace=namespace).session
    await redis_client.pexpire(session_key, 10_000)
    await gate.sessions.info(conversation)
    assert await redis_client.pttl(session_key) <= 10_000


async def test_dedup_marks_an_event_once(redis_client: aioredis.Redis, namespace: str) -> None:
    store = SessionStore(redis_client, namespace=namespace, ttl=60)
    assert await store.mark_seen(CONV, "Ev1") is True
    assert await store.mark_seen(CONV, "Ev1") is False
    assert await store.mark_seen(CONV, "Ev2") is True
    ttl = await redis_client.ttl(SessionKeys(CONV, namespace=namespace).seen("Ev1"))
    assert 0 < ttl <= 600
