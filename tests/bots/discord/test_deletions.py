"""A person's question deleted (MESSAGE_DELETE, read by discord.py's
``on_raw_message_delete``, which needs no message cache): a question deleted before the
agent was asked never reaches it, and one deleted while its reply streams stops that reply,
which keeps its partial text and says why (``core.texts.QUESTION_DELETED``). A thread
opened on the question survives its deletion and keeps the partial reply.
"""

from __future__ import annotations

import asyncio
from typing import Any

from core.texts import QUESTION_DELETED
from tests.bots.discord.conftest import World
from tests.servers.lyzr_server import LyzrScript, split_words

PATIENCE = 20  # a safety net: a broken stop fails the test instead of hanging it


def held(text: str, after: int) -> LyzrScript:
    """``text``, one word a token, held after ``after`` tokens until the test says."""
    return LyzrScript(tokens=split_words(text), hold_after=after)


def withdrawals_seen(world: World) -> asyncio.Event:
    """Set once the bot has told the core of a deletion (the responder's ``withdraw``
    returned for every place the message may have been answered in)."""
    responder = world.bot.responder
    original = responder.withdraw
    seen = asyncio.Event()
    calls = 0

    async def withdraw(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        result = await original(*args, **kwargs)
        calls += 1
        if calls == 3:  # a guild message: the thread on it, its thread, its channel
            seen.set()
        return result

    responder.withdraw = withdraw  # type: ignore[method-assign]
    return seen


def withdrawn_ids(world: World) -> set[str]:
    """The ids of the messages the bot withdrew (filled as it does)."""
    responder = world.bot.responder
    original = responder.withdraw
    ids: set[str] = set()

    async def withdraw(*args: Any, **kwargs: Any) -> bool:
        ids.add(kwargs["message_id"])
        return await original(*args, **kwargs)

    responder.withdraw = withdraw  # type: ignore[method-assign]
    return ids


async def test_a_question_deleted_while_its_reply_streams_stops_the_reply(world: World) -> None:
    """The thread opened on the question stays when the question goes; the reply there
    stops as a Stop would, its partial text kept with the notice, the agent's stream
    closed."""
    sim, lyzr = world.sim, world.lyzr
    script = held("one two three four five six", after=2)
    lyzr.enqueue(script)
    general = sim.channel("general").id
    question = await sim.user_message(general, "talk", mention_bot=True)
    await sim.wait_until(lambda: bool(world.bot_messages(question.id)))
    await sim.delete_message(general, question.id)
    await asyncio.wait_for(lyzr.disconnected.wait(), PATIENCE)  # the agent was stopped
    await world.answered(1)
    script.hold.set()

    (reply,) = world.bot_messages(question.id)  # in the thread, which survived
    assert reply.content.startswith("one") and "three" not in reply.content
    assert reply.content.endswith(QUESTION_DELETED)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.status == "cancelled"


async def test_a_question_deleted_before_anything_shows_posts_nothing(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    script = held("one two three", after=0)
    lyzr.enqueue(script)
    general = sim.channel("general").id
    question = await sim.user_message(general, "talk", mention_bot=True)
    await sim.wait_until(lambda: len(lyzr.stream_requests()) == 1)
    await sim.delete_message(general, question.id)
    await asyncio.wait_for(lyzr.disconnected.wait(), PATIENCE)
    await world.answered(1)
    script.hold.set()
    await world.quiet()

    assert world.bot_messages(question.id) == []
    assert world.bot_messages(general) == []


async def test_a_question_deleted_while_queued_is_never_sent_to_the_agent(world: World) -> None:
    """A second question in the bot's thread waits behind the first reply; deleted, it is
    dropped quietly when its place comes."""
    sim, lyzr = world.sim, world.lyzr
    first = held("first answer", after=1)
    lyzr.enqueue(first, LyzrScript(tokens=["never"]))
    deleted = withdrawals_seen(world)
    general = sim.channel("general").id
    question = await sim.user_message(general, "one", mention_bot=True)
    await sim.wait_until(lambda: len(lyzr.stream_requests()) == 1)
    second = await sim.user_message(question.id, "two", mention_bot=True)
    await sim.delete_message(question.id, second.id)
    await asyncio.wait_for(deleted.wait(), PATIENCE)
    first.hold.set()
    await world.answered(2)

    (reply,) = world.bot_messages(question.id)
    assert reply.content == "first answer"
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["one"]
    assert sorted(r.status for r in world.results) == ["answered", "withdrawn"]


async def test_a_dm_question_deleted_while_its_reply_streams_stops_the_reply(
    world: World,
) -> None:
    sim, lyzr = world.sim, world.lyzr
    script = held("one two three four five six", after=2)
    lyzr.enqueue(script)
    dm = sim.world.dm_channel(sim.user("alice").id).id
    question = await sim.user_message(dm, "talk")
    await sim.wait_until(lambda: bool(world.bot_messages(dm)))
    await sim.delete_message(dm, question.id)
    await asyncio.wait_for(lyzr.disconnected.wait(), PATIENCE)
    await world.answered(1)
    script.hold.set()

    (reply,) = world.bot_messages(dm)
    assert reply.content.startswith("one") and reply.content.endswith(QUESTION_DELETED)


async def test_a_purge_withdraws_each_question_as_a_deletion_would(world: World) -> None:
    """A moderator purges a thread (Bulk Delete Messages: one MESSAGE_DELETE_BULK, read by
    ``on_raw_bulk_message_delete``, no MESSAGE_DELETE): of the two follow-ups purged, the
    one waiting behind the other's reply never reaches the agent, and the streaming reply
    stops with the notice. The bot's own message purged with them (in discord.py's cache)
    is no withdrawal, as when deleted alone."""
    sim, lyzr = world.sim, world.lyzr
    withdrawn = withdrawn_ids(world)
    streaming = held("one two three four five six", after=2)
    lyzr.enqueue(LyzrScript(tokens=["opening"]), streaming, LyzrScript(tokens=["never"]))
    general = sim.channel("general").id
    thread = (await sim.user_message(general, "start", mention_bot=True)).id
    await world.answered(1)
    talk = await sim.user_message(thread, "talk", mention_bot=True)
    await sim.wait_until(lambda: len(world.bot_messages(thread)) == 2)  # the reply shows
    waiting = await sim.user_message(thread, "two", mention_bot=True)
    (opening,) = world.bot_messages(thread)[:1]
    await sim.bulk_delete(thread, [opening.id, talk.id, waiting.id])
    await asyncio.wait_for(lyzr.disconnected.wait(), PATIENCE)  # the agent was stopped
    await world.answered(3)
    streaming.hold.set()
    await world.quiet()

    (reply,) = world.bot_messages(thread)
    assert opening.content == "opening"
    assert reply.content.startswith("one") and "three" not in reply.content
    assert reply.content.endswith(QUESTION_DELETED)
    assert [r.json["message"] for r in lyzr.stream_requests()] == ["start", "talk"]
    assert sorted(r.status for r in world.results) == ["answered", "answered", "withdrawn"]
    outcomes = [r.outcome.status for r in world.results if r.outcome is not None]
    assert outcomes == ["completed", "cancelled"]
    assert withdrawn == {str(talk.id), str(waiting.id)}
