"""What Discord refuses in the wild, and what the user then sees.

- Missing permissions (403 / 50013): no thread → the reply in the channel with a hint naming
  the permission; no posting in threads → the reply in the parent channel, with the hint;
  nowhere in the channel → a DM naming what is missing (the agent is not called for nothing).
- The bot's View Channel taken away mid-reply (403 / 50001 Missing Access on everything
  there) → the reply ends at once, and the user is told by DM what is missing.
- The active-thread cap (160006) → the reply in the channel, saying why.
- An hour-old message that takes no more edits (30046) → the reply continues in a new one.
- A thread archived mid-reply (50083) → unarchived, and the same message is finished.
- A thread locked mid-reply (160005; "Close & Lock" also archives it: posts there are
  refused as archived, 50083) → the reply finishes in the parent channel, after a note
  saying the thread is locked.
- A thread deleted mid-reply (10003) → the reply ends at once: the agent's stream is closed,
  the turn is finalised, no request to the deleted thread is repeated.
"""

from __future__ import annotations

import pytest

from adapters.discord import STOP_CUSTOM_ID as STOP_ID
from bots.simulators.discord import DiscordSimulator, SimMessage
from tests.bots.discord.conftest import BotWorld, World
from tests.servers.lyzr_server import LyzrScript, split_words

THREAD = "/channels/{channel_id}"


def words(count: int, delay: float, *, held: bool = False) -> LyzrScript:
    """``held``: the last word waits for ``hold`` (the reply streams until the test acts)."""
    tokens = split_words(" ".join(f"w{n}" for n in range(count)))
    return LyzrScript(tokens=tokens, delay=delay, hold_after=count - 1 if held else None)


def full_text(count: int) -> str:
    return " ".join(f"w{n}" for n in range(count))


def dm_with(sim: DiscordSimulator, user: str) -> int:
    return sim.world.dm_channel(sim.user(user).id).id


# -- missing permissions ---------------------------------------------------------------------


async def mention_without(world: World, *permissions: str) -> SimMessage:
    """A user's mention of the bot in #general, where the bot lacks ``permissions``."""
    general = world.sim.channel("general").id
    world.sim.deny(general, *permissions)
    return await world.sim.user_message(general, "hello", mention_bot=True)


async def test_no_thread_permission_answers_in_the_channel_with_a_hint(world: World) -> None:
    sim = world.sim
    general = (await mention_without(world, "CREATE_PUBLIC_THREADS")).channel_id
    await world.answered(1)
    hint, reply = (m.content for m in world.bot_messages(general))
    assert "**Create Public Threads**" in hint
    assert reply == "You said: hello"
    assert sim.threads() == []
    # The next mention is answered in the channel too, without repeating the hint.
    await sim.user_message(general, "again", mention_bot=True)
    await world.answered(2)
    assert [m.content for m in world.bot_messages(general)][2:] == ["You said: again"]


async def test_no_permission_to_post_in_threads_answers_in_the_parent(world: World) -> None:
    start = await mention_without(world, "SEND_MESSAGES_IN_THREADS")
    general = start.channel_id
    await world.answered(1)
    assert world.bot_messages(start.id) == []  # the thread opened, but takes no post
    hint, reply = world.bot_messages(general)
    assert "**Send Messages in Threads**" in hint.content and f"<#{start.id}>" in hint.content
    assert reply.content == "You said: hello" and STOP_ID not in str(reply.components)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.delivered


async def test_no_permission_anywhere_in_the_channel_tells_the_user_in_a_dm(
    world: World,
) -> None:
    sim = world.sim
    general = (await mention_without(world, "CREATE_PUBLIC_THREADS", "SEND_MESSAGES")).channel_id
    dm = dm_with(sim, "alice")
    await sim.wait_until(lambda: bool(world.bot_messages(dm)))
    await world.quiet()
    (note,) = world.bot_messages(dm)
    assert "**Create Public Threads**" in note.content and "**Send Messages**" in note.content
    assert f"<#{general}>" in note.content
    assert world.lyzr.stream_requests() == []  # nowhere to show a reply: the agent not asked
    assert world.bot_messages(general) == []


async def test_no_permission_to_post_in_threads_or_channel_tells_the_user_in_a_dm(
    world: World,
) -> None:
    sim = world.sim
    start = await mention_without(world, "SEND_MESSAGES_IN_THREADS", "SEND_MESSAGES")
    await world.answered(1)
    dm = dm_with(sim, "alice")
    await sim.wait_until(lambda: bool(world.bot_messages(dm)))
    (note,) = world.bot_messages(dm)
    assert "**Send Messages in Threads**" in note.content
    assert "**Send Messages**" in note.content and f"<#{start.id}>" in note.content
    refused = [c for c in sim.calls if c.status == 403]
    assert len(refused) <= 3  # each place tried once, never retried into a storm


async def test_view_channel_taken_mid_reply_ends_it_and_tells_the_user(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    lyzr.enqueue(words(400, delay=0.05, held=True))  # the last word waits: it never ends
    general = sim.channel("general").id
    start = await sim.user_message(general, "go", mention_bot=True)
    await sim.wait_until(lambda: any(m.edit_count for m in world.bot_messages(start.id)))
    sim.deny(general, "VIEW_CHANNEL")  # the thread inherits it
    hidden_at = len(sim.calls)
    await world.answered(1, within=10)
    assert lyzr.streams[0].disconnected and not lyzr.streams[0].finished  # agent stopped
    dm = dm_with(sim, "alice")
    await sim.wait_until(lambda: bool(world.bot_messages(dm)))
    (note,) = world.bot_messages(dm)
    assert "**View Channel**" in note.content and f"<#{start.id}>" in note.content
    refused = [c for c in sim.calls[hidden_at:] if c.status == 403]
    assert len(refused) <= 4  # each place tried once or so, never a retry storm


# -- the active-thread cap -------------------------------------------------------------------


async def test_the_active_thread_cap_answers_in_the_channel(bot_world: BotWorld) -> None:
    async with bot_world(sim={"max_active_threads": 0}) as world:
        sim = world.sim
        general = sim.channel("general").id
        await sim.user_message(general, "hello", mention_bot=True)
        await world.answered(1)
        note, reply = (m.content for m in world.bot_messages(general))
        assert "active threads" in note
        assert reply == "You said: hello"


# -- messages that can no longer be edited ---------------------------------------------------


async def test_an_hour_old_message_out_of_edits_continues_in_a_new_one(
    bot_world: BotWorld,
) -> None:
    # One more edit allowed, then a wait longer than discord.py's 30 s patience.
    limits = {"old_message_edit_limit": 1, "old_message_edit_window": 120.0}
    async with bot_world(sim=limits) as world:
        sim, lyzr = world.sim, world.lyzr
        # The last word is held until the clock moved: the 5 s reply could otherwise end,
        # its final edit made, before a loaded test got there.
        script = words(60, delay=0.08, held=True)
        lyzr.enqueue(script)
        start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
        await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
        sim.advance_clock(3601)  # the reply's message is an hour old now
        script.hold.set()
        await world.answered(1, within=20)  # not held back by a 120 s "rate limit"
        old, new = world.bot_messages(start.id)
        assert new.content == full_text(60) and STOP_ID not in str(new.components)
        assert full_text(60).startswith(old.content.removesuffix(" ▍"))  # kept what it had
        (result,) = world.results
        assert result.outcome is not None and result.outcome.status == "completed"


async def test_a_thread_archived_mid_reply_is_unarchived_and_finished(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    # The last word is held until the thread is archived: the 3 s reply could otherwise
    # end, its final edit made, before a loaded test archived it.
    script = words(40, delay=0.08, held=True)
    lyzr.enqueue(script)
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
    await sim.archive_thread(start.id)
    script.hold.set()
    await world.answered(1, within=20)
    (message,) = world.bot_messages(start.id)
    assert message.content == full_text(40) and STOP_ID not in str(message.components)
    assert not sim.world.channel(start.id).archived
    assert sim.calls_to("PATCH", THREAD)  # unarchived by the bot


@pytest.mark.parametrize("archive", [True, False], ids=["closed-and-locked", "locked"])
async def test_a_thread_locked_mid_reply_finishes_in_the_channel(
    world: World, archive: bool
) -> None:
    sim, lyzr = world.sim, world.lyzr
    script = words(40, delay=0.08, held=True)  # the last word waits until the lock
    lyzr.enqueue(script)
    general = sim.channel("general").id
    start = await sim.user_message(general, "go", mention_bot=True)
    await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
    await sim.lock_thread(start.id, archive=archive)
    script.hold.set()
    await world.answered(1, within=20)
    note, reply = world.bot_messages(general)
    assert "locked" in note.content and f"<#{start.id}>" in note.content
    assert full_text(40).endswith(reply.content) and STOP_ID not in str(reply.components)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.delivered
    assert sim.world.channel(start.id).locked


async def test_the_reply_deleted_mid_stream_goes_on_in_a_new_message(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    script = words(40, delay=0.08, held=True)  # the last word waits until the deletion
    lyzr.enqueue(script)
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
    (streaming,) = world.bot_messages(start.id)
    await sim.delete_message(start.id, streaming.id)  # a moderator: 10008 on the next edit
    script.hold.set()
    await world.answered(1, within=20)
    (reply,) = world.bot_messages(start.id)
    assert reply.id != streaming.id and reply.content == full_text(40), reply.content
    assert STOP_ID not in str(reply.components)
    (result,) = world.results
    assert result.outcome is not None and result.outcome.status == "completed"


async def test_a_forum_post_the_bot_may_not_answer_in_tells_the_user_in_a_dm(
    bot_world: BotWorld,
) -> None:
    """A forum post has no channel to fall back to (the forum takes no messages): without
    Send Messages in Threads there, the asker is told by DM, as when a channel refuses."""
    async with bot_world(sim={"forum_channels": ("help",)}) as world:
        sim = world.sim
        forum = sim.channel("help").id
        sim.deny(forum, "SEND_MESSAGES_IN_THREADS")
        post = await sim.forum_post(forum, "It fails", "any idea?", mention_bot=True)
        await world.answered(1)
        dm = dm_with(sim, "alice")
        await sim.wait_until(lambda: bool(world.bot_messages(dm)))
        (note,) = world.bot_messages(dm)
        assert "**Send Messages in Threads**" in note.content and f"<#{post.id}>" in note.content
        assert world.bot_messages(post.id) == []


async def test_a_forum_post_locked_mid_reply_ends_there(bot_world: BotWorld) -> None:
    """A forum takes no messages of its own (400 / 50008): a locked post's reply has no
    parent to go on in, so it ends, instead of sending its note and its rest to the forum
    and streaming on into refusals."""
    async with bot_world(sim={"forum_channels": ("help",)}) as world:
        sim, lyzr = world.sim, world.lyzr
        script = words(40, delay=0.08, held=True)  # the last word waits until the lock
        lyzr.enqueue(script)
        forum = sim.channel("help").id
        post = await sim.forum_post(forum, "It fails", "go", mention_bot=True)
        await sim.wait_until(lambda: bool(world.bot_messages(post.id)))
        await sim.lock_thread(post.id, archive=False)
        script.hold.set()
        await world.answered(1, within=20)
        posts = sim.calls_to("POST", "/channels/{channel_id}/messages")
        assert [c for c in posts if c.params["channel_id"] == str(forum)] == []
        (result,) = world.results
        assert result.outcome is not None and not result.outcome.delivered


# -- a deleted thread ------------------------------------------------------------------------


async def test_a_thread_deleted_mid_reply_ends_the_turn(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    lyzr.enqueue(words(400, delay=0.05, held=True))  # the last word waits: it never ends
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await sim.wait_until(lambda: any(m.edit_count for m in world.bot_messages(start.id)))
    await sim.delete_thread(start.id)
    deleted_at = len(sim.calls)
    await world.answered(1, within=8)
    assert lyzr.streams[0].disconnected and not lyzr.streams[0].finished  # agent stopped
    after = [c for c in sim.calls[deleted_at:] if c.channel_id == start.id]
    assert all(c.status == 404 for c in after) and len(after) <= 3  # no retry storm
    (result,) = world.results
    assert result.outcome is not None and result.outcome.status != "completed"
    # The bot goes on as before.
    again = await sim.user_message(sim.channel("general").id, "hello", mention_bot=True)
    await world.answered(2)
    assert [m.content for m in world.bot_messages(again.id)] == ["You said: hello"]
