"""The gateway connection replaced mid-reply: RECONNECT (op 7), INVALID_SESSION (op 9,
resumable or not) and a resumable close code (4008 rate limited). The reply streaming at
the time completes, a message replayed by the RESUME is not answered again, and a
privileged intent refused when the bot has to IDENTIFY again is one clear error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bots.simulators.discord import DiscordSimulator
from core.errors import ConfigError
from tests.bots.discord.conftest import BotWorld, World
from tests.servers.lyzr_server import LyzrScript, split_words

Disrupt = Callable[[DiscordSimulator], Awaitable[None]]


async def _op7(sim: DiscordSimulator) -> None:
    session = await sim.wait_for_session()
    await sim.state.gateway.reconnect(session, replay_from=None)


async def _op9_resumable(sim: DiscordSimulator) -> None:
    await sim.invalidate_session(resumable=True)


async def _op9_new_session(sim: DiscordSimulator) -> None:
    await sim.invalidate_session(resumable=False)


async def _rate_limited(sim: DiscordSimulator) -> None:
    await sim.close_gateway(4008, "Rate limited.")


DISRUPTIONS = {
    "op7-reconnect": _op7,
    "op9-resumable": _op9_resumable,
    "op9-identify-again": _op9_new_session,
    "4008-rate-limited": _rate_limited,
}


@pytest.mark.parametrize("disrupt", DISRUPTIONS.values(), ids=DISRUPTIONS.keys())
async def test_a_reply_streaming_through_a_reconnect_completes(
    world: World, disrupt: Disrupt
) -> None:
    sim, lyzr = world.sim, world.lyzr
    text = " ".join(f"w{n}" for n in range(30))
    script = LyzrScript(tokens=split_words(text), delay=0.0, hold_after=10)
    lyzr.enqueue(script)
    start = await sim.user_message(sim.channel("general").id, "long", mention_bot=True)
    await world.until(lambda: any(m.content.startswith("w0") for m in world.bot_messages(start.id)))
    before = (await sim.wait_for_session()).id
    await disrupt(sim)
    now = (await sim.wait_for_session()).id
    assert (now != before) == (disrupt is _op9_new_session)  # resumed, or identified anew
    script.hold.set()
    await world.answered(1)
    (message,) = world.bot_messages(start.id)
    assert message.content == text and message.components != []  # finished, feedback shown
    # The bot still answers on the new connection, once.
    later = await sim.user_message(start.id, "still there?", mention_bot=True)
    await world.answered(2)
    assert world.bot_messages(start.id)[-1].content == "You said: still there?"
    assert later.id != start.id and len(lyzr.stream_requests()) == 2


async def test_a_reply_in_flight_replayed_by_a_resume_is_not_answered_twice(
    world: World,
) -> None:
    sim, lyzr = world.sim, world.lyzr
    script = LyzrScript(tokens=split_words("one two three four"), delay=0.0, hold_after=2)
    lyzr.enqueue(script)
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await world.until(lambda: bool(world.bot_messages(start.id)))
    await sim.redeliver_after_resume(start.id)  # replayed while its reply still streams
    script.hold.set()
    await world.answered(1)
    await world.quiet()  # the replay was read, and dropped before the agent (its claim)
    assert len(world.results) == 1
    assert [m.content for m in world.bot_messages(start.id)] == ["one two three four"]
    assert len(lyzr.stream_requests()) == 1


async def test_a_privileged_intent_refused_on_identify_again_is_one_clear_error(
    bot_world: BotWorld,
) -> None:
    """The Message Content switch turned off while the bot runs: the next IDENTIFY (after
    an INVALID_SESSION that cannot be resumed) is closed with 4014 and the bot ends with
    the one line that names the Developer Portal's switch."""
    async with bot_world(discord={"message_content": True}) as world:
        sim = world.sim
        sim.config.allowed_privileged_intents = 0
        session = await sim.wait_for_session()
        sim.state.gateway.invalidate(session, resumable=False)
        with pytest.raises(ConfigError) as error:
            await world.bot.wait()
        assert error.value.variable == "DISCORD_MESSAGE_CONTENT"
        assert "Privileged Gateway Intents → Message Content Intent" in str(error.value)
