"""Replies (``message_reference``) to the bot's messages: Discord's reply pings the replied
message's author by default (the bot is then in ``mentions`` and, without the Message
Content intent, still gets the text); with the client's "@ OFF" it does not, but the reply
is still meant for the bot. Real discord.py client, simulator, Redis, Lyzr wire."""

from __future__ import annotations

from tests.bots.discord.conftest import BotWorld


async def test_a_reply_that_pings_the_bot_is_read_without_the_content_intent(
    bot_world: BotWorld,
) -> None:
    async with bot_world() as world:  # DISCORD_MESSAGE_CONTENT off
        sim = world.sim
        start = await sim.user_message(sim.channel("general").id, "start", mention_bot=True)
        await world.answered(1)
        (answer,) = world.bot_messages(start.id)
        sent = await sim.user_message(start.id, "and then?", reply_to=answer.id)
        assert sent.pings.users == {sim.bot.id}  # the reply's ping, not a <@bot> in the text
        await world.answered(2)
        assert [m.content for m in world.bot_messages(start.id)] == [
            "You said: start",
            "You said: and then?",
        ]


async def test_a_reply_to_the_bot_without_a_ping_is_answered(bot_world: BotWorld) -> None:
    async with bot_world(discord={"message_content": True}) as world:
        sim = world.sim
        # A thread somebody else owns: only what is meant for the bot is answered.
        theirs = await sim.user_thread(sim.channel("random").id, "humans", author="bob")
        question = await sim.user_message(theirs.id, "question", mention_bot=True)
        await world.answered(1)
        (answer,) = world.bot_messages(theirs.id)
        await sim.user_message(theirs.id, "agreed", author="bob", reply_to=question.id)
        await world.quiet()
        assert len(world.results) == 1  # a reply to a person is not for the bot
        sent = await sim.user_message(theirs.id, "why?", reply_to=answer.id, ping_reply=False)
        assert sent.pings.nobody
        await world.answered(2)
        assert [m.content for m in world.bot_messages(theirs.id)][-1].endswith("\n\nwhy?")
        assert len(sim.threads()) == 1  # answered in place


async def test_a_reply_without_a_ping_and_the_content_intent_is_told_to_ping(
    bot_world: BotWorld,
) -> None:
    """Without the intent, a reply with "@ OFF" arrives blank: the hint must not tell the
    user to do what they just did ("reply to my message"), but that the ping is needed."""
    async with bot_world() as world:  # DISCORD_MESSAGE_CONTENT off
        sim = world.sim
        start = await sim.user_message(sim.channel("general").id, "start", mention_bot=True)
        await world.answered(1)
        (answer,) = world.bot_messages(start.id)
        await sim.user_message(start.id, "and then?", reply_to=answer.id, ping_reply=False)
        await world.quiet()
        assert len(world.results) == 1
        _, hint = world.bot_messages(start.id)
        assert "@ ON" in hint.content
