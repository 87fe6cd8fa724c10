"""The reply's first visible message waits for its recovery record (in process, real Redis).

The turn's registration is written in the background when it is accepted; a status that
may post a message (Slack's "Thinking…" placeholder) or the first post used to go out
whether it had landed or not, and a replica killed in between left a message no reaper
knew of (the SIGKILL cases: ``test_recovery_first_post``). These tests check the order, and
that a Redis that never answers only holds the first message back for the registry's
``patience``.
"""

from __future__ import annotations

import logging

import pytest
import redis.asyncio as aioredis

from core.ops.recovery import Reaper, Recovery, ReplyRegistry
from core.ops.recovery.registry import WRITE
from core.relay import Relay
from core.sessions.connect import redis_client as connect
from core.surface import MessageRef
from core.turn import ThreadRef
from tests.bots.discord.slow_redis import SlowRedis
from tests.ops.test_recovery import BOT, INTERVAL, LIMITS, TTL, SlowRegistry, records
from tests.relay.helpers import SpyScheduler, scripted
from tests.surfaces import THREAD, RecordingSurface


class CheckingSurface(RecordingSurface):
    """Notes, at each status shown and each post, whether the reply's record is in Redis."""

    def __init__(self, redis: aioredis.Redis, registry: ReplyRegistry) -> None:
        super().__init__(limits=LIMITS)
        self.redis = redis
        self.registry = registry
        self.seen: list[tuple[str, bool]] = []

    async def _known(self) -> bool:
        return bool(await records(self.redis, self.registry))

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        if status is not None:
            self.seen.append(("status", await self._known()))
        await super().set_status(where, status)

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        self.seen.append(("post", await self._known()))
        return await super().post(where, text, streaming=streaming, key=key)


def _recovery(registry: ReplyRegistry, surface: RecordingSurface) -> Recovery:
    rec = Recovery(registry, Reaper(registry, SpyScheduler(), interval=INTERVAL))
    rec.serve(THREAD.platform, BOT, surface)
    return rec


async def test_the_first_status_and_post_wait_for_a_registration_redis_was_slow_to_take(
    redis_url: str, redis_client: aioredis.Redis, namespace: str
) -> None:
    """Redis never answers the registration (swallowed: its write times out and is tried
    again): the thinking status and the first post go out only once the record is there."""
    async with SlowRedis(redis_url) as proxy:
        client = connect(proxy.url)
        try:
            reg = ReplyRegistry(client, namespace=namespace, owner="owner-a", ttl=TTL,
                                op_timeout=0.2)  # fmt: skip
            surface = CheckingSurface(redis_client, reg)
            rec = _recovery(reg, surface)
            proxy.swallow(WRITE.sha.encode())
            relay = Relay(surface, SpyScheduler(), observer=rec)
            outcome = await relay.deliver(THREAD, scripted([(0.0, "hello")]))
            await rec.aclose()
        finally:
            await client.aclose()
    assert proxy.swallowed  # the case: the first registration was held back
    assert outcome.status == "completed" and surface.texts() == ["hello"]
    assert ("status", True) in surface.seen and ("post", True) in surface.seen
    assert all(known for _, known in surface.seen), surface.seen


async def test_a_registry_that_never_answers_holds_the_first_message_for_its_patience_only(
    redis_client: aioredis.Redis, namespace: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Redis takes no write at all (stuck, not refusing): once the registry's patience is
    spent the reply goes on unregistered (logged), as it did before it waited."""
    reg = SlowRegistry(redis_client, namespace=namespace, owner="owner-a", ttl=TTL,
                       op_timeout=0.05, patience=0.3)  # fmt: skip
    reg.stuck_now = True
    surface = RecordingSurface(limits=LIMITS)
    rec = _recovery(reg, surface)
    relay = Relay(surface, SpyScheduler(), observer=rec)
    with caplog.at_level(logging.WARNING, logger="core.ops.recovery.heartbeat"):
        outcome = await relay.deliver(THREAD, scripted([(0.0, "still answered")]))
    await rec.aclose()
    assert outcome.status == "completed" and surface.texts() == ["still answered"]
    assert any("goes out unregistered" in r.getMessage() for r in caplog.records)
    assert not await records(redis_client, reg)
