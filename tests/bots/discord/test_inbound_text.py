"""What the agent reads of what Discord users send: Discord's markup (discord-api-docs,
Reference > Message Formatting) as the names, emoji and dates the user saw."""

from __future__ import annotations

from bots.simulators.discord.models import ChannelType
from tests.bots.discord.conftest import BotWorld

CONTENT = {"discord": {"message_content": True}}


async def test_markup_in_a_mention_reaches_the_agent_as_readable_text(bot_world: BotWorld) -> None:
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general, random = sim.channel("general").id, sim.channel("random").id
        bob = sim.user("bob").id
        oncall = sim.world.roles.add("oncall")
        # A role made while the bot is connected reaches it as GUILD_ROLE_CREATE
        # (discord-api-docs, Events > Gateway Events > Guild Role Create).
        role = {"id": str(oncall), "name": "oncall", "color": 0, "hoist": False,
                "position": 2, "permissions": "0", "managed": False, "mentionable": True,
                "flags": 0}  # fmt: skip
        guild = sim.world.guild_id
        await sim.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild), "role": role})
        text = (
            f"hey <@!{sim.bot.id}> ask <@{bob}> in <#{random}> or ping <@&{oncall}>, "
            "run </status:123456789012345670> <:party_parrot:123456789012345678> "
            "<a:dance:123456789012345679> by <t:1700000000:R> (<t:1699999980>), "
            "<#123456789012345671> is unknown"
        )
        await sim.user_message(general, text)
        await world.answered(1)
        (request,) = world.lyzr.stream_requests()
        assert request.json["message"] == (
            "hey ask @bob in #random or ping @oncall, run /status :party_parrot: :dance: by "
            "2023-11-14 22:13:20 UTC (2023-11-14 22:13 UTC), <#123456789012345671> is unknown"
        )


async def test_a_sticker_reaches_the_agent_by_name(bot_world: BotWorld) -> None:
    """A sticker alone, or beside a mention, was "an empty message" (or nothing at all in
    the bot's thread): the agent now gets its name."""
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        await sim.dm_message("", stickers=["thumbs up"])
        await world.answered(1)
        start = await sim.user_message(
            sim.channel("general").id, "look", mention_bot=True, stickers=["wave"]
        )
        await world.answered(2)
        await sim.user_message(start.id, "", stickers=["Hello there"])
        await world.answered(3)
        requests = world.lyzr.stream_requests()
        assert [r.json["message"] for r in requests] == [
            "[sticker: thumbs up]",
            "look\n[sticker: wave]",
            "[sticker: Hello there]",
        ]
        assert [r.status for r in world.results] == ["answered"] * 3


async def test_without_the_content_intent_a_sticker_alone_is_not_a_message(
    bot_world: BotWorld,
) -> None:
    """Sticker items survive without the intent, the text beside them does not: the agent
    must not get a sticker for a message it cannot read."""
    async with bot_world() as world:
        sim = world.sim
        start = await sim.user_message(sim.channel("general").id, "hi", mention_bot=True)
        await world.answered(1)
        await sim.user_message(start.id, "what about this?", stickers=["thinking"])
        await world.quiet()
        assert len(world.lyzr.stream_requests()) == 1


async def test_a_forum_post_mentioning_the_bot_gives_the_agent_its_title(
    bot_world: BotWorld,
) -> None:
    """A forum post is a thread (its title) and a first message with the thread's id: the
    question is often only in the title."""
    async with bot_world(sim={"forum_channels": ("help",)}) as world:
        sim = world.sim
        forum = sim.channel("help").id
        post = await sim.forum_post(
            forum, "Login fails with a 500 after the upgrade", "any idea?", mention_bot=True
        )
        await world.answered(1)
        (thread,) = sim.threads()
        assert thread.id == post.id and thread.parent_id == forum
        (request,) = world.lyzr.stream_requests()
        assert request.json["message"] == "Login fails with a 500 after the upgrade\n\nany idea?"
        (answer,) = world.bot_messages(thread.id)  # in the post, no thread of its own
        assert answer.content.endswith("any idea?")
        # A later mention in the post is not its first message: no title again.
        await sim.user_message(thread.id, "still broken", mention_bot=True, author="bob")
        await world.answered(2)
        assert world.lyzr.stream_requests()[-1].json["message"] == "still broken"


async def test_voice_chat_and_announcement_channels(bot_world: BotWorld) -> None:
    """A voice channel's text chat holds no threads: the mention is answered in place. A
    mention in an announcement channel opens an announcement thread, like a text channel."""
    channels = {"voice_channels": ("lounge",), "announcement_channels": ("news",)}
    async with bot_world(sim=channels) as world:
        sim = world.sim
        lounge, news = sim.channel("lounge").id, sim.channel("news").id
        await sim.user_message(lounge, "in the voice chat", mention_bot=True)
        await world.answered(1)
        sent = await sim.user_message(news, "on the news", mention_bot=True)
        await world.answered(2)
        assert [m.content for m in world.bot_messages(lounge)] == ["You said: in the voice chat"]
        (thread,) = sim.threads()
        assert thread.id == sent.id and thread.type is ChannelType.ANNOUNCEMENT_THREAD
        assert [m.content for m in world.bot_messages(thread.id)] == ["You said: on the news"]
        assert world.bot_messages(news) == []


async def test_files_without_words_are_a_question(bot_world: BotWorld) -> None:
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        start = await sim.user_message(
            sim.channel("general").id, "", mention_bot=True, attachments=[("a.txt", b"one")]
        )
        await world.answered(1)
        await sim.user_message(start.id, "", attachments=[("b.txt", b"two")])
        await world.answered(2)
        first, second = (r.json["message"] for r in world.lyzr.stream_requests())
        assert "(The user sent a.txt without a message.)" in first and "one" in first
        assert "(The user sent b.txt without a message.)" in second and "two" in second
        (thread,) = sim.threads()
        assert thread.id == start.id and thread.name == "alice"  # no words: named after them


async def test_webhook_messages_are_not_answered(bot_world: BotWorld) -> None:
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        hooked = sim.world.add_message(
            general, sim.user("alice"), {"content": f"<@{sim.bot.id}> from a webhook"}, []
        )
        hooked.webhook_id = sim.world.ids.next()
        sim.state.events.message_created(hooked)
        await world.quiet()
        assert world.results == [] and sim.threads() == []


async def test_earlier_messages_of_a_thread_are_readable_too(bot_world: BotWorld) -> None:
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general, random = sim.channel("general").id, sim.channel("random").id
        thread = await sim.user_thread(general, "plans", author="bob")
        await sim.user_message(
            thread.id, f"see <#{random}> <:ok:123456789012345678> at <t:1700000000:t>", author="bob"
        )
        await sim.user_message(thread.id, "what did bob say?", mention_bot=True)
        await world.answered(1)
        (request,) = world.lyzr.stream_requests()
        assert "bob: see #random :ok: at 2023-11-14 22:13:20 UTC\n" in request.json["message"]
