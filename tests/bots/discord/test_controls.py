"""/new, /stop and the Stop button."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from bots.discord import texts
from bots.simulators.discord import SimInteraction, SimMessage
from tests.bots.discord.conftest import BotWorld, World
from tests.bots.discord.slow_redis import SlowRedis
from tests.servers.lyzr_server import LyzrScript, split_words

EPHEMERAL = 1 << 6
STOP_ID = "threadcast:stop"


def slow_reply(words: int = 60, delay: float = 0.15) -> LyzrScript:
    """Paced words whose last one is held until the test stops the reply: it used to end
    by itself after 9 s, and on a loaded machine it could end before the Stop landed."""
    tokens = split_words(" ".join(f"w{n}" for n in range(words)))
    return LyzrScript(tokens=tokens, delay=delay, hold_after=words - 1)


async def ask_slow(world: World, *, words: int = 60) -> SimMessage:
    """Alice asks the bot in #general for a slowly streamed reply; the message the reply's
    thread starts on."""
    world.lyzr.enqueue(slow_reply(words))
    return await world.sim.user_message(world.sim.channel("general").id, "go", mention_bot=True)


def shows(world: World, interaction: SimInteraction, text: str) -> Callable[[], bool]:
    """Whether the interaction's answer (``@original``) shows ``text``."""

    def check() -> bool:
        answer = world.sim.original_response(interaction)
        return answer is not None and answer.content == text

    return check


async def test_commands_are_synced(world: World) -> None:
    assert {c["name"] for c in world.sim.commands()} == {"new", "stop", "help", "status"}


async def test_new_starts_a_fresh_session(world: World) -> None:
    sim = world.sim
    start = await sim.user_message(sim.channel("general").id, "remember me", mention_bot=True)
    await world.answered(1)
    interaction = await sim.slash_command("new", channel_id=start.id)
    await sim.wait_until(shows(world, interaction, texts.NEW_DONE))
    assert interaction.responses[0]["type"] == 5  # deferred, then filled: seen by everyone
    assert not sim.original_response(interaction).flags & EPHEMERAL  # type: ignore[union-attr]
    await sim.user_message(start.id, "what did I say?", mention_bot=True)
    await world.answered(2)
    first, second = world.session_ids()
    assert first != second
    assert world.bot_messages(start.id)[-1].content == "You said: nothing yet."
    # In a DM too.
    await sim.dm_message("hi")
    await world.answered(3)
    dm = sim.world.dm_channel(sim.user("alice").id)
    in_dm = await sim.slash_command("new", channel_id=dm.id)
    await sim.wait_until(shows(world, in_dm, texts.NEW_DONE))
    await sim.dm_message("what did I say?")
    await world.answered(4)
    assert world.bot_messages(dm.id)[-1].content == "You said: nothing yet."
    # In a plain channel there is no conversation to renew: a hint, only for the user.
    hint = await sim.slash_command("new", channel_id=sim.channel("random").id)
    await sim.wait_until(lambda: hint.acknowledged)
    assert hint.responses[0]["data"]["content"] == texts.NEW_NOT_HERE
    assert hint.responses[0]["data"]["flags"] == EPHEMERAL


async def test_stop_button_cancels_the_reply_for_real(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    start = await ask_slow(world)
    await sim.wait_until(lambda: any(m.edit_count for m in world.bot_messages(start.id)))
    (streaming,) = world.bot_messages(start.id)
    assert streaming.components  # the Stop button, while it streams
    click = await sim.click_button(streaming.id, STOP_ID, user="bob")
    await world.answered(1)
    assert click.responses[0]["type"] == 6  # acknowledged; the relay's edit does the rest
    assert lyzr.streams[0].disconnected and not lyzr.streams[0].finished  # agent stopped
    (message,) = world.bot_messages(start.id)
    assert message.components == []
    assert message.content.startswith("w0 w1") and message.content.endswith("_⏹ Stopped._")
    assert "w59" not in message.content and "▍" not in message.content
    (result,) = world.results
    assert result.outcome is not None and result.outcome.status == "cancelled"
    # A leftover button on a reply that no longer streams is simply removed.
    sim.world.edit_message(message, {"components": streaming_components()}, [])
    stale = await sim.click_button(message.id, STOP_ID)
    await sim.wait_until(lambda: message.components == [])
    assert stale.responses[0]["type"] == 6 and message.content.endswith("_⏹ Stopped._")


def streaming_components() -> list[dict[str, object]]:
    button = {"type": 2, "style": 2, "label": "Stop", "custom_id": STOP_ID}
    return [{"type": 1, "components": [button]}]


async def test_stop_command(world: World) -> None:
    sim = world.sim
    start = await ask_slow(world)
    await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
    stop = await sim.slash_command("stop", channel_id=start.id)
    await world.answered(1)
    await sim.wait_until(shows(world, stop, texts.STOPPING))
    assert stop.responses[0]["data"]["flags"] == EPHEMERAL  # only for the user who asked
    (message, *_) = world.bot_messages(start.id)
    assert message.content.endswith("_⏹ Stopped._") and message.components == []
    again = await sim.slash_command("stop", channel_id=start.id)
    await sim.wait_until(shows(world, again, texts.NOTHING_TO_STOP))


# -- a slow session store: acknowledged first, answered after -------------------------------

# Discord's 3 s deadline scaled down (the simulator's ``interaction_deadline``), and a Redis
# whose every reply takes longer than that, so each test waits about a second and a half instead of
# more than three.
DEADLINE = 1.0
SLOW = 1.5
# Connections opened before Redis turns slow, as a bot that has been running has them: a
# new one costs redis-py's handshake (several round trips), which at this latency alone
# would take most of the store's 5 s operation timeout.
WARM_CONNECTIONS = 16


@pytest.fixture
async def slow_store(bot_world: BotWorld, redis_url: str) -> AsyncIterator[tuple[World, SlowRedis]]:
    async with (
        SlowRedis(redis_url) as redis,
        bot_world(redis=redis.url, sim={"interaction_deadline": DEADLINE}) as world,
    ):
        await asyncio.gather(*(world.runtime.redis.ping() for _ in range(WARM_CONNECTIONS)))
        yield world, redis


def callbacks_refused(world: World) -> list[int]:
    return [c.status for c in world.sim.calls if c.route.endswith("/callback") and c.status >= 400]


async def test_new_is_acknowledged_before_a_slow_store_answers(
    slow_store: tuple[World, SlowRedis],
) -> None:
    world, redis = slow_store
    sim = world.sim
    start = await sim.user_message(sim.channel("general").id, "remember me", mention_bot=True)
    await world.answered(1)
    redis.delay = SLOW
    new = await sim.slash_command("new", channel_id=start.id)
    await sim.wait_until(shows(world, new, texts.NEW_DONE))
    assert new.responses[0]["type"] == 5  # deferred at once, filled once Redis answered
    assert callbacks_refused(world) == []
    redis.delay = 0.0
    await sim.user_message(start.id, "what did I say?", mention_bot=True)
    await world.answered(2)
    first, second = world.session_ids()
    assert first != second


async def test_stop_is_acknowledged_before_a_slow_store_answers(
    slow_store: tuple[World, SlowRedis],
) -> None:
    world, redis = slow_store
    sim = world.sim
    start = await ask_slow(world, words=200)
    await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
    redis.delay = SLOW
    stop = await sim.slash_command("stop", channel_id=start.id)
    await world.answered(1, within=30)
    await sim.wait_until(shows(world, stop, texts.STOPPING))
    assert stop.responses[0]["type"] == 5 and stop.responses[0]["data"]["flags"] == EPHEMERAL
    assert callbacks_refused(world) == []
    (message, *_) = world.bot_messages(start.id)
    assert message.content.endswith("_⏹ Stopped._") and message.components == []


async def test_stop_button_is_acknowledged_before_a_slow_store_answers(
    slow_store: tuple[World, SlowRedis],
) -> None:
    world, redis = slow_store
    sim, lyzr = world.sim, world.lyzr
    start = await ask_slow(world, words=200)
    await sim.wait_until(lambda: any(m.edit_count for m in world.bot_messages(start.id)))
    (streaming,) = world.bot_messages(start.id)
    redis.delay = SLOW
    click = await sim.click_button(streaming.id, STOP_ID)
    await world.answered(1, within=30)
    assert click.responses[0]["type"] == 6
    assert callbacks_refused(world) == []
    assert lyzr.streams[0].disconnected and not lyzr.streams[0].finished
    assert streaming.content.endswith("_⏹ Stopped._") and streaming.components == []
    # A leftover button clicked while the store is slow is removed all the same.
    sim.world.edit_message(streaming, {"components": streaming_components()}, [])
    stale = await sim.click_button(streaming.id, STOP_ID)
    await sim.wait_until(lambda: streaming.components == [])
    assert stale.responses[0]["type"] == 6 and callbacks_refused(world) == []


async def test_help_and_status_are_ephemeral(world: World) -> None:
    sim = world.sim
    general = sim.channel("general").id
    helped = await sim.slash_command("help", channel_id=general)
    await sim.wait_until(lambda: helped.acknowledged)
    assert helped.responses[0]["type"] == 4  # answered at once, no I/O
    assert helped.responses[0]["data"]["flags"] == EPHEMERAL
    assert "`/new`" in helped.responses[0]["data"]["content"]
    assert "`/stop`" in helped.responses[0]["data"]["content"]

    start = await sim.user_message(general, "hello", mention_bot=True)
    await world.answered(1)
    status = await sim.slash_command("status", channel_id=start.id)
    await sim.wait_until(lambda: bool(getattr(sim.original_response(status), "content", "")))
    assert status.responses[0]["type"] == 5 and status.responses[0]["data"]["flags"] == EPHEMERAL
    answer = sim.original_response(status)
    assert answer is not None and answer.flags & EPHEMERAL
    assert answer.content.startswith("_Agent `default`, started ")
    assert answer.content.endswith(", 1 turn._")
    elsewhere = await sim.slash_command("status", channel_id=sim.channel("random").id)
    await sim.wait_until(lambda: elsewhere.acknowledged)
    assert elsewhere.responses[0]["data"]["content"] == texts.STATUS_NOT_HERE
