"""The agent sees the conversation (issue 12) on Discord: a thread's history (paged with
``before``), a reply's chain, attachments; empty messages (no Message Content intent) are
never sent. Real discord.py client, simulator, Redis, Lyzr wire."""

from __future__ import annotations

import base64

import pytest

from adapters.discord.context import DiscordContext
from core.agents.context_wire import BLOCK_END, BLOCK_START
from core.context.source import FileRefused
from core.turn import Attachment, ThreadRef, Turn
from tests.bots.discord.conftest import MESSAGES, BotWorld

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
CONTENT = {"discord": {"message_content": True}}


def block_lines(message: str) -> list[str]:
    assert message.startswith(BLOCK_START), message
    block = message[len(BLOCK_START) : message.index(BLOCK_END)]
    return [line for line in block.strip().split("\n") if line]


async def test_a_thread_of_30_messages_is_given_once_in_order_with_names(
    bot_world: BotWorld,
) -> None:
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        start = await sim.user_message(general, "a thread about the outage")
        thread = await sim.user_thread(general, "outage", from_message=start.id)
        for n in range(30):
            await sim.user_message(thread.id, f"message {n}", author="alice" if n % 2 else "bob")
        await sim.user_message(thread.id, "summarise this", mention_bot=True)
        await world.answered(1)
        await sim.user_message(thread.id, "and the decision?", mention_bot=True, author="bob")
        await world.answered(2)

        first, second = (r.json["message"] for r in world.lyzr.stream_requests())
        # The message the thread was started from (in the channel, reached through the
        # thread's THREAD_STARTER_MESSAGE) comes first: the thread is about it.
        assert block_lines(first) == ["alice: a thread about the outage"] + [
            f"{'alice' if n % 2 else 'bob'}: message {n}" for n in range(30)
        ]
        assert first.endswith(f"{BLOCK_END}\n\nsummarise this")
        assert second == "and the decision?"  # the thread is not repeated
        reads = [c for c in sim.calls_to("GET", MESSAGES) if c.channel_id == thread.id]
        assert reads and all("before" in c.query for c in reads)


async def test_in_the_bots_own_thread_follow_ups_get_no_context_they_had(
    bot_world: BotWorld,
) -> None:
    """The bot opens its thread on the message that addressed it, so the thread starts with
    a THREAD_STARTER_MESSAGE pointing at that message: the agent had it already, so it is
    neither given again nor counted as an older message left out."""
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        sent = await sim.user_message(sim.channel("general").id, "start", mention_bot=True)
        await world.answered(1)
        (thread,) = sim.threads()
        assert sim.channel_messages(thread.id)[0].type == 21  # as Discord opens it
        await sim.user_message(thread.id, "and then?", author="bob")
        await world.answered(2)
        await sim.user_message(thread.id, "next?")
        await world.answered(3)
        assert thread.id == sent.id
        messages = [r.json["message"] for r in world.lyzr.stream_requests()]
        assert messages == ["start", "and then?", "next?"]


async def test_a_thousand_message_thread_is_bounded_with_a_left_out_line(
    bot_world: BotWorld,
) -> None:
    async with bot_world(context_messages=20, context_chars=100_000, **CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        thread = await sim.user_thread(general, "long")
        for n in range(1000):
            sim.world.add_message(thread.id, sim.user("alice"), {"content": f"m{n}"}, [])
        await sim.user_message(thread.id, "what now?", mention_bot=True)
        await world.answered(1, within=30)
        (request,) = world.lyzr.stream_requests()
        lines = block_lines(request.json["message"])
        assert lines[0] == "(980 older messages were left out.)"
        assert lines[1:] == [f"alice: m{n}" for n in range(980, 1000)]
        reads = [c for c in sim.calls_to("GET", MESSAGES) if c.channel_id == thread.id]
        assert len(reads) == 10 and {c.query.get("limit") for c in reads} == {"100"}


async def test_without_the_message_content_intent_empty_messages_are_not_sent(
    bot_world: BotWorld,
) -> None:
    async with bot_world() as world:  # DISCORD_MESSAGE_CONTENT off: others' text is blank
        sim = world.sim
        general = sim.channel("general").id
        thread = await sim.user_thread(general, "quiet")
        for n in range(5):
            await sim.user_message(thread.id, f"hidden {n}", author="bob")
        await sim.user_message(thread.id, "what was said?", mention_bot=True)
        await world.answered(1)
        # The five messages reached the bot blank: nothing is sent for them, not even a
        # "left out" line (they are not context the bot could see).
        (request,) = world.lyzr.stream_requests()
        assert request.json["message"] == "what was said?"
        reads = [c for c in sim.calls_to("GET", MESSAGES) if c.channel_id == thread.id]
        assert reads  # the history was read: Discord blanked it


async def test_a_message_edited_after_it_was_sent_is_given_as_it_reads_now(
    bot_world: BotWorld,
) -> None:
    """Get Channel Messages returns an edited message's current ``content``, with its
    ``edited_timestamp``: the agent reads the message as it is now."""
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        start = await sim.user_message(general, "when do we ship?")
        thread = await sim.user_thread(general, "shipping", from_message=start.id)
        answer = await sim.user_message(thread.id, "on friday", author="bob")
        await sim.user_edits(thread.id, answer.id, "on monday, friday is a holiday")
        await sim.user_message(thread.id, "so when?", mention_bot=True)
        await world.answered(1)

        assert answer.edited_at is not None
        (request,) = world.lyzr.stream_requests()
        assert block_lines(request.json["message"]) == [
            "alice: when do we ship?",
            "bob: on monday, friday is a holiday",
        ]


async def test_a_reply_outside_a_thread_brings_its_reply_chain(bot_world: BotWorld) -> None:
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        first = await sim.user_message(general, "the build is red", author="bob")
        second = await sim.user_message(general, "since the merge", reply_to=first.id)
        await sim.user_message(general, "why?", mention_bot=True, reply_to=second.id)
        await world.answered(1)
        (request,) = world.lyzr.stream_requests()
        assert block_lines(request.json["message"]) == [
            "bob: the build is red",
            "alice: since the merge",
        ]


async def test_an_image_and_a_log_reach_lyzr_and_the_rest_is_named(
    bot_world: BotWorld,
) -> None:
    async with bot_world(input_file_max_bytes=1000, **CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        sent = await sim.user_message(
            general, "what broke?", mention_bot=True,
            attachments=[("shot.png", PNG, "image/png"), ("app.log", b"ERROR disk full\n"),
                         ("huge.log", b"x" * 5000), ("tool.exe", b"MZ")],
        )  # fmt: skip
        await world.answered(1)
        (request,) = world.lyzr.stream_requests()
        (asset,) = (world.lyzr.assets[a] for a in request.json["assets"])
        assert (asset.file_name, asset.data) == ("shot.png", PNG)
        assert "--- file: app.log ---\nERROR disk full\n" in request.json["message"]
        notice, _reply = world.bot_messages(sent.id)
        assert "huge.log" in notice.content and "too large" in notice.content
        assert "tool.exe" in notice.content and "cannot read this type" in notice.content
        assert "app.log" not in notice.content


def test_attachment_links_off_discords_file_hosts_are_refused() -> None:
    source = DiscordContext(client=None, rest_base="http://127.0.0.1:5000/api/v10")  # type: ignore[arg-type]
    turn = Turn(ThreadRef("discord", "1", "2", "2"), "3", "4", "hi")
    ok = "https://cdn.discordapp.com/attachments/1/2/a.png?ex=1&is=2&hm=3"
    assert source.file_request(turn, Attachment("a.png", ok)).url == ok
    assert source.file_request(turn, Attachment("b", "http://127.0.0.1:5000/attachments/1/2/b"))
    for bad in ("https://evil.example/a.png", "http://169.254.169.254/", "http://127.0.0.1:6000/x"):
        with pytest.raises(FileRefused):
            source.file_request(turn, Attachment("a.png", bad))


async def test_command_answers_in_a_thread_are_not_context(bot_world: BotWorld) -> None:
    """``/status`` and ``/help`` answer ephemerally (only the user who asked sees them: not
    in the channel's history), ``/new`` publicly as a CHAT_INPUT_COMMAND message (type 20,
    not something anybody said): none of them reaches the agent as the thread's context."""
    async with bot_world(**CONTENT) as world:
        sim = world.sim
        general = sim.channel("general").id
        start = await sim.user_message(general, "a thread about lunch")
        thread = await sim.user_thread(general, "lunch", from_message=start.id)
        await sim.user_message(thread.id, "pizza?", author="bob")
        for command in ("status", "help", "new"):
            asked = await sim.slash_command(command, channel_id=thread.id)
            await sim.wait_until(lambda: asked.original_message_id is not None)  # noqa: B023
        await sim.wait_until(
            lambda: any(m.content.startswith("🆕") for m in sim.channel_messages(thread.id))
        )
        await sim.user_message(thread.id, "where do we go?", mention_bot=True)
        await world.answered(1)
        (asked_agent,) = (r.json["message"] for r in world.lyzr.stream_requests())
        assert block_lines(asked_agent) == ["alice: a thread about lunch", "bob: pizza?"]
