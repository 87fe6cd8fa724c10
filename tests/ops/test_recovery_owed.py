"""Final edits a surface owes after its reply's record is gone (a Slack stream's queued
stop), kept by :class:`~core.ops.recovery.OwedRecords`, with the real Redis: held while
their owner lives, made by a reaper (with the controls, no notice) once it is dead or has
handed them over, and never registered again once made."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from core.ops.recovery import OwedRecords, ReplyRegistry
from core.surface import MessageRef, OwedEdit
from tests.ops.test_recovery import (
    INDICATOR,
    LIMITS,
    TTL,
    reaper_of,
    records,
    registry,
    sweep_until_done,
)
from tests.surfaces import THREAD, FeedbackSurface


def owed_by(reg: ReplyRegistry) -> OwedRecords:
    keys = reg.keys(THREAD.platform)
    assert keys is not None
    return OwedRecords(reg, keys)


async def streaming(surface: FeedbackSurface, text: str) -> MessageRef:
    """A message still streaming, whose final text is ``text`` (all shown but the end)."""
    message = await surface.post(THREAD, text + INDICATOR, streaming=True)
    return MessageRef(message.where, message.message_id, stream=True)


async def test_an_owed_edit_is_held_while_its_owner_lives_then_made_once_with_its_controls(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = FeedbackSurface(limits=LIMITS)
    message = await streaming(surface, "All of it.")
    owner = ReplyRegistry(redis_client, namespace=namespace, owner="owner-a", ttl=4 * TTL)
    owner.serve(THREAD.platform, "B1")
    edit = OwedEdit(message, "All of it.", controls=True)
    await owed_by(owner).owe(edit)
    ((record_id, record),) = (await records(redis_client, owner)).items()
    assert record_id == f"owed-{edit.key}" and record["handed_over"] is True
    assert record["feedback"] == message.message_id
    reaper = reaper_of(redis_client, namespace, surface)
    assert await reaper.sweep() == 0  # its owner is alive: not due
    # The owner dies (no heartbeat: its deadline passes); a reaper makes the edit.
    await sweep_until_done(reaper)
    assert surface.offered == [(message.message_id, "All of it.")]  # no notice, controls
    assert surface.texts() == ["All of it."] and surface.messages[message.message_id].final
    assert not await records(redis_client, owner)


async def test_an_owed_edit_left_at_shutdown_is_the_same_record_made_at_once(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    surface = FeedbackSurface(limits=LIMITS)
    message = await streaming(surface, "Done.")
    owner = registry(redis_client, namespace, "owner-a")
    owed = owed_by(owner)
    edit = OwedEdit(message, "Done.", controls=True)
    await owed.owe(edit)
    await owed.leave(edit)  # the shutdown: handed over, due at once
    assert list(await records(redis_client, owner)) == [f"owed-{edit.key}"]  # one record
    await sweep_until_done(reaper_of(redis_client, namespace, surface))
    assert surface.offered == [(message.message_id, "Done.")]
    assert not await records(redis_client, owner)


async def test_an_owed_edit_made_before_its_write_landed_is_not_registered(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    """The stop landed (the record dropped) before the write reporting it: the write,
    landing late, must not register an edit no one owes any more."""
    surface = FeedbackSurface(limits=LIMITS)
    owner = registry(redis_client, namespace, "owner-a")
    owed = owed_by(owner)
    edit = OwedEdit(await streaming(surface, "Done."), "Done.")
    owed.made(edit)
    await asyncio.gather(*owner._tasks)
    await owed.owe(edit)
    await asyncio.gather(*owner._tasks)
    assert not await records(redis_client, owner)
    await owed.leave(edit)  # nor does a shutdown hand it over
    assert not await records(redis_client, owner)
