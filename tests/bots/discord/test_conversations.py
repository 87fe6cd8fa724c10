"""Conversations: a mention opens a thread, threads and DMs are sessions, what is ignored."""

from __future__ import annotations

from adapters.discord.feedback_buttons import FEEDBACK_DOWN_ID, FEEDBACK_UP_ID
from bots.discord.texts import FOLLOW_UP_UNREADABLE, ROLE_MENTION_UNREADABLE
from bots.simulators.discord.models import SimMessage
from tests.bots.discord.conftest import MESSAGES, TYPING, BotWorld, World
from tests.servers.lyzr_server import LyzrScript, split_words

STOP_ID = "threadcast:stop"


def button_ids(payload: dict[str, object] | None) -> list[object]:
    rows = (payload or {}).get("components") or []
    return [c.get("custom_id") for row in rows for c in row["components"]]  # type: ignore[attr-defined]


async def test_mention_opens_a_thread_and_streams_the_reply(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    reply = " ".join(f"word{n}" for n in range(36))
    lyzr.enqueue(LyzrScript(tokens=split_words(reply), delay=0.08, first_delay=0.3))
    general = sim.channel("general").id
    sent = await sim.user_message(general, "Tell me   something\nlong please", mention_bot=True)
    await world.answered(1)

    (thread,) = sim.threads()
    assert thread.id == sent.id and thread.parent_id == general
    assert thread.name == "Tell me something long please"
    assert thread.owner_id == sim.bot.id and thread.auto_archive_duration == 1440
    (message,) = world.bot_messages(thread.id)
    assert message.content == reply  # final text: exactly the agent's output
    assert message.edit_count >= 2  # streamed: several edits, not one post
    # The final edit drops the indicator and puts 👍 / 👎 where the Stop button was: no
    # edit of its own for the controls.
    assert all(v.endswith(" ▍") for v in message.versions[:-1])
    assert message.versions[-1] == reply
    assert button_ids({"components": message.components}) == [FEEDBACK_UP_ID, FEEDBACK_DOWN_ID]
    (first_post,) = [c for c in sim.calls_to("POST", MESSAGES) if c.channel_id == thread.id]
    assert button_ids(first_post.json) == [STOP_ID]
    typing = [c for c in sim.calls_to("POST", TYPING) if c.channel_id == thread.id]
    assert typing and typing[0].time < first_post.time  # typing until the first text
    assert world.bot_messages(general) == []
    (request,) = lyzr.stream_requests()
    assert request.json["message"] == "Tell me something\nlong please"  # mention stripped
    assert request.json["user_id"] == str(sim.user("alice").id)
    (result,) = world.results
    assert result.status == "answered" and result.outcome is not None
    assert result.outcome.status == "completed"


async def test_threads_and_dms_are_sessions(world: World) -> None:
    sim = world.sim
    general = sim.channel("general").id
    first = await sim.user_message(general, "one", mention_bot=True)
    await world.answered(1)
    await sim.user_message(first.id, "two, in the thread", mention_bot=True)
    await world.answered(2)
    other = await sim.user_message(general, "another topic", mention_bot=True, author="bob")
    await world.answered(3)
    assert {t.id for t in sim.threads()} == {first.id, other.id}
    a1, a2, b1 = world.session_ids()
    assert a1 == a2 and b1 != a1
    assert [m.content for m in world.bot_messages(first.id)] == [
        "You said: one",
        "You said: two, in the thread",
    ]
    await sim.dm_message("hello in private", author="bob")
    await world.answered(4)
    await sim.dm_message("what did I say?", author="bob")
    await world.answered(5)
    dm = sim.world.dm_channel(sim.user("bob").id)
    assert [m.content for m in world.bot_messages(dm.id)] == [
        "You said: hello in private",
        "You said: hello in private.",
    ]
    *_, d1, d2 = world.session_ids()
    assert d1 == d2 and d1 not in (a1, b1)
    assert len(sim.threads()) == 2  # no thread in a DM


async def test_follow_ups_without_a_mention(bot_world: BotWorld) -> None:
    # Default intents: Discord blanks a follow-up that does not mention the bot: nothing to
    # answer, but the user, writing in the bot's thread, is told how to reach it (once).
    async with bot_world() as world:
        sim = world.sim
        start = await sim.user_message(sim.channel("general").id, "start", mention_bot=True)
        await world.answered(1)
        await sim.user_message(start.id, "follow-up without a mention")
        await world.quiet()
        await sim.user_message(start.id, "another one", author="bob")
        await world.quiet()
        assert len(world.lyzr.stream_requests()) == 1
        answer, hint = world.bot_messages(start.id)
        assert hint.content == FOLLOW_UP_UNREADABLE.format(bot=sim.bot.id)
        assert hint.pings.nobody
        # In a thread somebody else owns, chatter is not for the bot: no hint.
        theirs = await sim.user_thread(sim.channel("random").id, "humans", author="bob")
        await sim.user_message(theirs.id, "not for the bot", author="bob")
        await world.quiet()
        assert world.bot_messages(theirs.id) == []
    # With the MESSAGE_CONTENT intent: answered in the bot's own thread, same session.
    async with bot_world(discord={"message_content": True}) as world:
        sim = world.sim
        start = await sim.user_message(sim.channel("general").id, "start", mention_bot=True)
        await world.answered(1)
        await sim.user_message(start.id, "follow-up without a mention")
        await world.answered(2)
        assert [m.content for m in world.bot_messages(start.id)][-1] == (
            "You said: follow-up without a mention"
        )
        first, second = world.session_ids()
        assert first == second
        # A thread somebody else owns: only a mention is answered, in that thread.
        theirs = await sim.user_thread(sim.channel("random").id, "humans", author="bob")
        await sim.user_message(theirs.id, "not for the bot", author="bob")
        await sim.user_message(theirs.id, "question for the bot", mention_bot=True)
        await world.answered(3)
        # The thread's earlier message comes along as context (issue 12).
        assert world.lyzr.stream_requests()[-1].json["message"] == (
            "[Thread context: earlier messages, oldest first]\nbob: not for the bot\n"
            "[End of thread context]\n\nquestion for the bot"
        )
        (answer,) = world.bot_messages(theirs.id)
        assert answer.content.endswith("question for the bot")
        assert len(sim.threads()) == 2  # no thread opened inside a thread
        assert world.session_ids()[-1] not in (first,)


async def test_what_is_ignored(bot_world: BotWorld) -> None:
    async with bot_world(discord={"message_content": True}) as world:
        sim = world.sim
        general = sim.channel("general").id
        await sim.user_message(general, "no mention, channel chatter")
        await sim.user_message(general, "a bot mentions us", author="otherbot", mention_bot=True)
        # An edit (MESSAGE_UPDATE) of a message that now mentions the bot.
        edited = await sim.user_message(general, "typo")
        edited.content = f"<@{sim.bot.id}> fixed"
        sim.state.events.message_updated(edited)
        # A system message (a pin notice) that mentions the bot.
        system = sim.world.add_message(
            general, sim.user("alice"), {"content": f"<@{sim.bot.id}> pinned"}, []
        )
        system.type = 6
        sim.state.events.message_created(system)
        await sim.delivered()
        # @everyone is not a mention of the bot.
        await sim.user_message(general, "@everyone meeting now")
        await world.quiet()
        assert world.lyzr.stream_requests() == []
        assert sim.threads() == [] and world.results == []
    async with bot_world(discord={"answer_bots": True}) as world:
        sim = world.sim
        await sim.user_message(
            sim.channel("general").id, "hello from a bot", author="otherbot", mention_bot=True
        )
        await world.answered(1)
        (thread,) = sim.threads()
        assert [m.content for m in world.bot_messages(thread.id)] == ["You said: hello from a bot"]
        # Our own messages (echoed as MESSAGE_CREATE) are never answered.
        assert len(world.lyzr.stream_requests()) == 1


async def test_turns_in_a_thread_run_in_order(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    start = await sim.user_message(sim.channel("general").id, "start", mention_bot=True)
    await world.answered(1)
    lyzr.enqueue(
        LyzrScript(tokens=split_words("first answer, slowly"), delay=0.15),
        LyzrScript(tokens=split_words("second answer"), delay=0.0),
    )
    await sim.user_message(start.id, "q1", mention_bot=True)
    await sim.user_message(start.id, "q2", mention_bot=True)
    await world.answered(3)
    replies: list[SimMessage] = world.bot_messages(start.id)[1:]
    assert [m.content for m in replies] == ["first answer, slowly", "second answer"]

    def sent(text: str) -> float:
        """When the simulator received the post or edit that showed ``text`` in full."""
        return next(
            c.time
            for c in sim.calls
            if c.channel_id == start.id
            and isinstance(c.json, dict)
            and c.json.get("content") == text
        )

    first_done = sent("first answer, slowly")
    second_post = min(
        c.time
        for c in sim.calls_to("POST", MESSAGES)
        if c.channel_id == start.id and c.json.get("content", "").startswith("second")
    )
    assert second_post >= first_done  # q2 was answered after q1's reply was complete


async def test_threads_missing_from_the_cache_are_looked_up(bot_world: BotWorld) -> None:
    """E.g. an archived thread after a restart: discord.py has no Thread object for it."""
    async with bot_world(discord={"message_content": True}) as world:
        sim = world.sim
        general = sim.channel("general").id
        # Created in the world only: no THREAD_CREATE, so the client never cached them.
        ours = sim.world.create_thread(
            general, owner_id=sim.bot.id, name="old", auto_archive_duration=60
        )
        theirs = sim.world.create_thread(
            general, owner_id=sim.user("bob").id, name="bob's", auto_archive_duration=60
        )
        await sim.user_message(ours.id, "still there?")
        await world.answered(1)
        await sim.user_message(theirs.id, "chatter, not for the bot", author="bob")
        await world.quiet()
        await sim.user_message(theirs.id, "but this is", author="bob", mention_bot=True)
        await world.answered(2)
        assert [m.content for m in world.bot_messages(ours.id)] == ["You said: still there?"]
        (answer,) = world.bot_messages(theirs.id)
        assert answer.content.startswith("You said: [Thread context")  # issue 12: its context
        assert answer.content.endswith("bob: chatter, not for the bot\n[End of thread context]"
                                       "\n\nbut this is")  # fmt: skip
        lookups = sim.calls_to("GET", "/channels/{channel_id}")
        assert {c.channel_id for c in lookups} == {ours.id, theirs.id}
        assert len(sim.threads()) == 2  # answered in place, no new thread


async def test_mentioning_the_bots_managed_role_is_mentioning_the_bot(bot_world: BotWorld) -> None:
    """Discord's autocomplete often offers the bot's managed role (same name) instead of the
    bot: ``<@&role>`` opens a thread and is answered like ``<@bot>``. Discord delivers the
    text of a role mention only with the MESSAGE_CONTENT intent (only a direct mention is
    exempt), so this needs the intent."""
    async with bot_world(discord={"message_content": True}) as world:
        sim, lyzr = world.sim, world.lyzr
        lyzr.enqueue(LyzrScript(tokens=split_words("Hello from the role."), delay=0.02))
        general = sim.channel("general").id
        role = sim.world.bot_role_id
        sent = await sim.user_message(general, f"<@&{role}> what is new?")
        assert sent.pings.roles == {role}  # the simulator saw a real role mention
        await world.answered(1)

        (thread,) = sim.threads()
        assert thread.id == sent.id
        (message,) = world.bot_messages(thread.id)
        assert message.content == "Hello from the role."
        (request,) = lyzr.stream_requests()
        assert request.json["message"] == "what is new?"  # the role mention stripped


async def test_a_role_mention_without_the_content_intent_gets_a_hint(world: World) -> None:
    """Without MESSAGE_CONTENT Discord blanks a role mention's text (only a direct mention is
    exempt): the bot says how to reach it instead of answering an empty message."""
    sim = world.sim
    general = sim.channel("general").id
    await sim.user_message(general, f"<@&{sim.world.bot_role_id}> what is new?")
    await world.quiet()
    assert world.lyzr.stream_requests() == [] and sim.threads() == []
    (hint,) = world.bot_messages(general)
    assert hint.content == ROLE_MENTION_UNREADABLE


async def test_a_quiet_agent_keeps_the_thread_typing_mid_reply(world: World) -> None:
    """Issue 10.2: the agent goes quiet (tools) after its first words: Discord's typing
    indicator comes back after 5 s of silence, while the message keeps its cursor."""
    sim, lyzr = world.sim, world.lyzr
    tokens = split_words("Looking it up: found it, all done.")
    # Quiet after three words until the typing is back (a 7 s stall used to leave 2 s
    # between the 5 s keep-alive and the end of the silence).
    script = LyzrScript(tokens=tokens, delay=0.05, hold_after=3)
    lyzr.enqueue(script)
    general = sim.channel("general").id
    sent = await sim.user_message(general, "look it up", mention_bot=True)

    def typing_after_the_first_post() -> bool:
        posts = [c.time for c in sim.calls_to("POST", MESSAGES) if c.channel_id == sent.id]
        typing = [c.time for c in sim.calls_to("POST", TYPING) if c.channel_id == sent.id]
        return bool(posts) and any(t > posts[0] for t in typing)

    await sim.wait_until(typing_after_the_first_post, within=30.0)
    script.hold.set()
    await world.answered(1, within=30.0)
    (message,) = world.bot_messages(sent.id)
    assert message.content == "Looking it up: found it, all done."
    (first_post,) = [c for c in sim.calls_to("POST", MESSAGES) if c.channel_id == sent.id]
    typing = [c.time for c in sim.calls_to("POST", TYPING) if c.channel_id == sent.id]
    mid_reply = [t for t in typing if t > first_post.time]
    assert mid_reply  # typing again during the silence (posting had ended it)
    assert any(v.endswith(" ▍") for v in message.versions[:-1])
