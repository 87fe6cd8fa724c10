"""A refused user is told why privately, once per user per hour, shared by replicas."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from core.governance.access import Admission
from core.governance.keys import notice_key
from core.governance.notices import AccessNotices
from core.texts import DENIED
from core.turn import ThreadRef, Turn
from tests.surfaces import RecordingSurface


class PrivateSurface(RecordingSurface):
    """A recording surface that can also tell one user something privately."""

    def __init__(self) -> None:
        super().__init__()
        self.private: list[tuple[str, str, str]] = []

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        self.private.append((where.channel, user, markdown))


def turn(message_id: str, user: str = "U1") -> Turn:
    return Turn(ThreadRef("slack", "T1", "C1", "t"), user, message_id, "hi")


async def test_once_per_user_per_hour_across_replicas(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = PrivateSurface()
    replicas = [AccessNotices(redis_client, namespace=namespace) for _ in range(2)]
    refused = Admission(allowed=False, reason="channel")
    assert await replicas[0].refuse(surface, turn("m1"), refused)
    assert not await replicas[1].refuse(surface, turn("m2"), refused)
    assert not await replicas[0].refuse(surface, turn("m3"), Admission(False, "user"))
    assert await replicas[1].refuse(surface, turn("m4", user="U2"), refused)
    assert surface.private == [("C1", "U1", DENIED["channel"]), ("C1", "U2", DENIED["channel"])]
    assert surface.calls == []  # nothing posted in the channel
    # The hour passes (the key expires): the next refusal is told again.
    key = notice_key(namespace, "slack", "U1")
    assert 3590 <= await redis_client.ttl(key) <= 3600
    await redis_client.pexpire(key, 1)
    async with asyncio.timeout(5):
        while await redis_client.exists(key):  # noqa: ASYNC110 - waiting on Redis state
            await asyncio.sleep(0.005)
    assert await replicas[0].refuse(surface, turn("m5"), Admission(False, "user"))
    assert surface.private[-1] == ("C1", "U1", DENIED["user"])


async def test_a_surface_without_private_notes_says_nothing(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = RecordingSurface()
    notices = AccessNotices(redis_client, namespace=namespace)
    assert not await notices.refuse(surface, turn("m1"), Admission(False, "channel"))
    assert surface.calls == []
