"""A Discord API that takes a request and then does not answer, before a reply has started.

discord.py keeps aiohttp's default session timeout (300 s in all), so without a bound of its
own a stalled call holds a mention that long, with no thread and no answer. Each call the
bot makes before the reply starts is bounded by its call timeout (``DISCORD_API_TIMEOUT``,
small here); the user then gets the answer elsewhere, soon. The stall holds the answer of
a call Discord has applied (:func:`tests.discord_stalls.stalled`): the outcome is unknown
to the bot, as after a real timeout. ``world.answered`` waits 15 s: far below aiohttp's
bound and far above the bot's, so a call left unbounded fails the test.
"""

from __future__ import annotations

from tests.bots.discord.conftest import BotWorld
from tests.discord_stalls import stalled

THREAD_FROM_MESSAGE = "/channels/{channel_id}/messages/{message_id}/threads"
CHANNEL = "/channels/{channel_id}"
MESSAGES = "/channels/{channel_id}/messages"
CALL_TIMEOUT = {"api_timeout": 0.5}


async def test_a_thread_create_left_unanswered_is_answered_in_the_channel(
    bot_world: BotWorld,
) -> None:
    """Discord opened the thread but the bot never learnt it: the reply goes in the channel
    (one answer, not two, none lost); the thread stays empty."""
    async with bot_world(discord=CALL_TIMEOUT) as world:
        sim = world.sim
        general = sim.channel("general").id
        async with stalled(sim, "POST", THREAD_FROM_MESSAGE) as held:
            start = await sim.user_message(general, "hello", mention_bot=True)
            await world.answered(1)
            assert held  # the create was applied, its answer never read
        await world.quiet()
        assert [m.content for m in world.bot_messages(general)] == ["You said: hello"]
        (thread,) = sim.threads()
        assert thread.id == start.id  # Discord's thread on the message, never used
        assert world.bot_messages(thread.id) == []


async def test_a_channel_lookup_left_unanswered_answers_a_mention_in_place(
    bot_world: BotWorld,
) -> None:
    """A mention in a thread the client has not cached (e.g. after a restart): the lookup of
    what it is gets no answer, and the mention is answered where it was made."""
    async with bot_world(discord=CALL_TIMEOUT) as world:
        sim = world.sim
        general = sim.channel("general").id
        # Created in the world only: no THREAD_CREATE, so the client never cached it.
        thread = sim.world.create_thread(
            general, owner_id=sim.bot.id, name="old", auto_archive_duration=60
        )
        async with stalled(sim, "GET", CHANNEL) as held:
            await sim.user_message(thread.id, "still there?", mention_bot=True)
            await world.answered(1)
            assert [c.channel_id for c in held] == [thread.id]
        await world.quiet()
        assert [m.content for m in world.bot_messages(thread.id)] == ["You said: still there?"]
        assert world.bot_messages(general) == []
        assert len(sim.threads()) == 1  # answered in place, no new thread


async def test_a_note_left_unanswered_does_not_hold_the_reply(bot_world: BotWorld) -> None:
    """No thread permission: the note saying so is held, and the reply still follows it."""
    async with bot_world(discord=CALL_TIMEOUT) as world:
        sim = world.sim
        general = sim.channel("general").id
        sim.deny(general, "CREATE_PUBLIC_THREADS")
        async with stalled(sim, "POST", MESSAGES) as held:
            await sim.user_message(general, "hello", mention_bot=True)
            await world.answered(1)
            assert [c.channel_id for c in held] == [general]  # the note
        await world.quiet()
        note, reply = (m.content for m in world.bot_messages(general))
        assert "**Create Public Threads**" in note
        assert reply == "You said: hello"
        assert sim.threads() == []
