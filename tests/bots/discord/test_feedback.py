"""👍 / 👎 on Discord: two buttons under a completed reply (never under a stopped one); a
click is recorded (one vote per person per reply, changeable) and answered only to the
person who clicked."""

from __future__ import annotations

import pytest

from adapters.discord import STOP_CUSTOM_ID
from adapters.discord.feedback_buttons import FEEDBACK_DOWN_ID, FEEDBACK_UP_ID
from bots.discord import DiscordBot
from bots.simulators.discord import DiscordSimulator, SimInteraction
from core.feedback.model import ReplyRef
from core.feedback.service import Feedback
from core.runtime import Runtime
from core.texts import (
    FEEDBACK_NOT_RECORDED,
    REASON_LABEL_UNMARKED,
    REASON_NONE,
    REASON_SAVED,
    REASON_STALE,
    THANKS_DOWN,
    THANKS_UP,
    VOTE_UNKNOWN,
)
from tests.bots.discord.conftest import (
    FAST_CHANNEL_BUCKET,
    World,
    bot_settings,
    record_results,
    sim_settings,
)
from tests.bots.discord.slow_redis import SlowRedis
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import eventually

EPHEMERAL = 1 << 6


def button_ids(components: list[dict[str, object]]) -> list[object]:
    return [c.get("custom_id") for row in components for c in row["components"]]  # type: ignore[attr-defined]


async def test_votes_round_trip(world: World) -> None:
    sim = world.sim
    start = await sim.user_message(sim.channel("general").id, "rate this", mention_bot=True)
    await world.answered(1)
    (reply,) = world.bot_messages(start.id)
    assert button_ids(reply.components) == [FEEDBACK_UP_ID, FEEDBACK_DOWN_ID]

    click = await sim.click_button(reply.id, FEEDBACK_UP_ID, user="bob")
    await sim.wait_until(lambda: any(m.flags & EPHEMERAL for m in world.bot_messages(start.id)))
    assert click.responses[0]["type"] == 6  # acknowledged at once, the message unchanged
    (note,) = [m for m in world.bot_messages(start.id) if m.flags & EPHEMERAL]
    assert note.content == THANKS_UP
    # Changed to 👎: answered with the optional "why?" modal, the vote recorded meanwhile.
    again = await sim.click_button(reply.id, FEEDBACK_DOWN_ID, user="bob")
    await sim.wait_until(lambda: again.acknowledged)
    assert again.responses[0]["type"] == 9 and again.modal is not None
    ((field,),) = [row["components"] for row in again.modal["components"]]
    # Discord marks required inputs only (a star): the label says this one may stay empty.
    assert field["required"] is False and field["label"] == REASON_LABEL_UNMARKED
    assert "(optional)" in REASON_LABEL_UNMARKED
    feedback = world.bot.commands.feedback
    assert feedback is not None
    guild = str(sim.channel("general").guild_id)
    ref = ReplyRef("discord", guild, str(start.id), str(reply.id))
    bob = str(sim.user("bob").id)
    # Submitted at once: the reason may reach Redis before the vote does; both are kept.
    submitted = await sim.submit_modal(again, {"threadcast:reason": "Off topic."}, user="bob")
    await sim.wait_until(lambda: bool(getattr(sim.original_response(submitted), "content", "")))
    answer = sim.original_response(submitted)
    assert answer is not None and answer.flags & EPHEMERAL and answer.content == REASON_SAVED
    current = await feedback.store.current(ref, bob)
    assert current is not None and (current.vote, current.reason) == ("down", "Off topic.")
    assert current.tag.session_id == world.session_ids()[0] and current.tag.agent == "default"


async def test_a_stopped_reply_gets_no_votes(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    words = " ".join(f"w{n}" for n in range(60))
    # The last word is held until the Stop: the reply used to end by itself after 9 s,
    # and on a loaded machine it could end before the click.
    lyzr.enqueue(LyzrScript(tokens=split_words(words), delay=0.15, hold_after=59))
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await sim.wait_until(lambda: any(m.edit_count for m in world.bot_messages(start.id)))
    (streaming,) = world.bot_messages(start.id)
    await sim.click_button(streaming.id, STOP_CUSTOM_ID)
    await world.answered(1)
    assert streaming.content.endswith("_⏹ Stopped._") and streaming.components == []


async def test_a_reason_submitted_after_a_restart_is_kept(redis_url: str, namespace: str) -> None:
    """The "why?" modal stays open in the user's client for as long as they like, across a
    restart of the bot; its submission is a new interaction (its own 3 s and token:
    discord-api-docs receiving-and-responding), so it must be answerable by a process that
    never saw the click. discord.py drops the submission of a modal it does not hold in
    memory (``ViewStore.dispatch_modal``: "unknown custom_id ... Discarding"): the user saw
    "Something went wrong" and the reason was lost."""
    async with DiscordSimulator(channel_window=1.0) as sim, LyzrServer() as lyzr:
        settings = bot_settings(redis_url, lyzr, redis_namespace=namespace, shutdown_grace=0.0)
        async with Runtime(settings, namespace=namespace) as runtime:
            options = sim_settings(sim, **FAST_CHANNEL_BUCKET)
            async with DiscordBot(runtime, options, guild_ready_timeout=0.05) as before:
                click, thread, reply = await _why_asked(sim, before)
            async with DiscordBot(runtime, options, guild_ready_timeout=0.05) as after:
                submitted = await sim.submit_modal(click, {"threadcast:reason": "Stale."},
                                                   user="bob")  # fmt: skip
                await sim.wait_until(
                    lambda: bool(getattr(sim.original_response(submitted), "content", ""))
                )
                answer = sim.original_response(submitted)
                assert answer is not None and answer.flags & EPHEMERAL
                assert answer.content == REASON_SAVED
                feedback = after.commands.feedback
                assert feedback is not None
                guild = str(sim.channel("general").guild_id)
                ref = ReplyRef("discord", guild, str(thread), str(reply))
                current = await feedback.store.current(ref, str(sim.user("bob").id))
                assert current is not None and (current.vote, current.reason) == ("down", "Stale.")


async def test_the_answer_to_the_why_modal_says_what_was_recorded(world: World) -> None:
    """A 👎 answered with the modal gets no thanks of its own (a click answered with a modal
    has no other response), so the submission's answer is the only one the voter sees: it
    must not claim a reason was recorded when none was given, nor when the reply can no
    longer be rated."""
    sim = world.sim
    start = await sim.user_message(sim.channel("general").id, "rate this", mention_bot=True)
    await world.answered(1)
    (reply,) = world.bot_messages(start.id)

    click = await sim.click_button(reply.id, FEEDBACK_DOWN_ID, user="bob")
    await sim.wait_until(lambda: click.modal is not None)
    feedback = world.bot.commands.feedback
    assert feedback is not None
    ref = ReplyRef("discord", str(sim.channel("general").guild_id), str(start.id),
                   str(reply.id))  # fmt: skip
    bob = str(sim.user("bob").id)
    await eventually(lambda: _vote_of(feedback, ref, bob), what="bob's 👎")
    empty = await sim.submit_modal(click, {"threadcast:reason": "  "}, user="bob")
    await sim.wait_until(lambda: bool(getattr(sim.original_response(empty), "content", "")))
    assert sim.original_response(empty).content == THANKS_DOWN  # type: ignore[union-attr]

    again = await sim.click_button(reply.id, FEEDBACK_DOWN_ID, user="alice")
    await sim.wait_until(lambda: again.modal is not None)
    assert again.modal is not None
    again.modal["custom_id"] = f"threadcast:why:{start.id}"  # not a reply of the bot's
    lost = await sim.submit_modal(again, {"threadcast:reason": "Wrong."}, user="alice")
    await sim.wait_until(lambda: bool(getattr(sim.original_response(lost), "content", "")))
    assert sim.original_response(lost).content == VOTE_UNKNOWN  # type: ignore[union-attr]


@pytest.mark.parametrize(("reason", "answer"), [("", REASON_NONE), ("Off topic.", REASON_STALE)])
async def test_a_why_given_after_a_later_thumbs_up_leaves_it_alone(
    reason: str, answer: str, world: World
) -> None:
    """Bob clicks 👎 on his phone (the "why?" modal opens there), then 👍 on his desktop,
    then submits the phone's modal, empty or with a reason: it used to record the 👎 again
    (with the reason), undoing his later 👍 (and moving the counts back), and to tell him
    his vote was changed or thank him for the reason. His 👍 stands, nothing is stored, and
    the answer (the submission's only one) says so: nothing new recorded, or the reason
    not recorded since he changed his vote."""
    sim = world.sim
    start = await sim.user_message(sim.channel("general").id, "rate this", mention_bot=True)
    await world.answered(1)
    (reply,) = world.bot_messages(start.id)
    feedback = world.bot.commands.feedback
    assert feedback is not None
    ref = ReplyRef("discord", str(sim.channel("general").guild_id), str(start.id),
                   str(reply.id))  # fmt: skip
    bob = str(sim.user("bob").id)

    phone = await sim.click_button(reply.id, FEEDBACK_DOWN_ID, user="bob")
    await sim.wait_until(lambda: phone.modal is not None)
    await eventually(lambda: _vote_of(feedback, ref, bob), what="bob's 👎")
    await sim.click_button(reply.id, FEEDBACK_UP_ID, user="bob")  # the desktop
    await sim.wait_until(lambda: any(m.flags & EPHEMERAL for m in world.bot_messages(start.id)))
    late = await sim.submit_modal(phone, {"threadcast:reason": reason}, user="bob")
    await sim.wait_until(lambda: bool(getattr(sim.original_response(late), "content", "")))
    said = sim.original_response(late)
    assert said is not None and said.flags & EPHEMERAL and said.content == answer
    current = await feedback.store.current(ref, bob)
    assert current is not None and (current.vote, current.reason) == ("up", None)
    assert await feedback.store.counts() == {"default": {"up": 1, "down": 0}}


async def _vote_of(feedback: Feedback, ref: ReplyRef, voter: str) -> bool:
    return await feedback.store.current(ref, voter) is not None


async def test_a_reason_submitted_once_feedback_is_off_is_not_said_to_be_recorded(
    redis_url: str, namespace: str
) -> None:
    """A modal left open across a restart that turned feedback off (THREADCAST_FEEDBACK=
    false): nothing records the reason, and its answer, the voter's only one, used to thank
    them for a reason "recorded with your vote"."""
    async with DiscordSimulator(channel_window=1.0) as sim, LyzrServer() as lyzr:
        settings = bot_settings(redis_url, lyzr, redis_namespace=namespace, shutdown_grace=0.0)
        options = sim_settings(sim, **FAST_CHANNEL_BUCKET)
        async with (
            Runtime(settings, namespace=namespace) as runtime,
            DiscordBot(runtime, options, guild_ready_timeout=0.05) as before,
        ):
            click, _, _ = await _why_asked(sim, before)
        off = settings.model_copy(update={"feedback": False})
        async with (
            Runtime(off, namespace=namespace) as runtime,
            DiscordBot(runtime, options, guild_ready_timeout=0.05) as after,
        ):
            assert after.commands.feedback is None
            submitted = await sim.submit_modal(click, {"threadcast:reason": "Late."}, user="bob")
            await sim.wait_until(
                lambda: bool(getattr(sim.original_response(submitted), "content", ""))
            )
            answer = sim.original_response(submitted)
            assert answer is not None and answer.flags & EPHEMERAL
            assert answer.content == VOTE_UNKNOWN


async def test_a_reason_the_store_cannot_take_is_said_to_be_lost(
    redis_url: str, namespace: str
) -> None:
    """Redis does not answer the reason's call (behind a proxy that holds back just that
    one): the answer, the voter's only one, says their feedback could not be recorded; it
    used to say "this reply could not be handled", about a reply that had been."""
    async with (
        DiscordSimulator(channel_window=1.0) as sim,
        LyzrServer() as lyzr,
        SlowRedis(redis_url) as redis,
    ):
        settings = bot_settings(redis.url, lyzr, redis_namespace=namespace, shutdown_grace=0.0)
        async with (
            Runtime(settings, namespace=namespace) as runtime,
            DiscordBot(
                runtime, sim_settings(sim, **FAST_CHANNEL_BUCKET), guild_ready_timeout=0.05
            ) as bot,
        ):
            click, thread, reply = await _why_asked(sim, bot)
            feedback = bot.commands.feedback
            assert feedback is not None
            ref = ReplyRef("discord", str(sim.channel("general").guild_id), str(thread),
                           str(reply))  # fmt: skip
            bob = str(sim.user("bob").id)
            await eventually(lambda: _vote_of(feedback, ref, bob), what="bob's 👎")
            redis.swallow(b":{feedback}:vote:")  # the reason's read of the vote
            submitted = await sim.submit_modal(click, {"threadcast:reason": "Meh."}, user="bob")
            await eventually(lambda: bool(getattr(sim.original_response(submitted), "content",
                                                  "")), what="the answer")  # fmt: skip
            assert redis.swallowed
            answer = sim.original_response(submitted)
            assert answer is not None and answer.content == FEEDBACK_NOT_RECORDED


async def _why_asked(sim: DiscordSimulator, bot: DiscordBot) -> tuple[SimInteraction, int, int]:
    """``bot`` answers alice's mention in #general and bob clicks 👎 on the reply: the
    click, once Discord shows its "why?" modal, the thread's id and the reply's."""
    results = record_results(bot.responder)
    start = await sim.user_message(sim.channel("general").id, "rate", mention_bot=True)
    await eventually(lambda: len(results) == 1, within=15.0, what="the reply")
    await bot.tasks.idle()
    (reply,) = [m for m in sim.channel_messages(start.id) if m.author.id == sim.bot.id]
    click = await sim.click_button(reply.id, FEEDBACK_DOWN_ID, user="bob")
    await sim.wait_until(lambda: click.modal is not None)
    return click, start.id, reply.id
