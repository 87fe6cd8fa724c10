"""The gateway connection replaced mid-reply: RECONNECT (op 7), INVALID_SESSION (op 9,
resumable or not), a resumable close code (4008 rate limited), 4009 (session timed out: a
new IDENTIFY), the bot over the gateway send limit, a heartbeat the bot missed and a zombie
connection (no HEARTBEAT_ACK). The reply streaming at the time completes, a message sent
around the event is answered once, a message replayed by the RESUME is not answered again,
and a privileged intent refused when the bot has to IDENTIFY again is one clear error."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import discord
import pytest

from bots.simulators.discord import DiscordSimulator, SimMessage
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


async def _session_timed_out(sim: DiscordSimulator) -> None:
    await sim.time_out_session()


DISRUPTIONS = {
    "op7-reconnect": _op7,
    "op9-resumable": _op9_resumable,
    "op9-identify-again": _op9_new_session,
    "4008-rate-limited": _rate_limited,
    "4009-session-timed-out": _session_timed_out,
}
NEW_SESSION = (_op9_new_session, _session_timed_out)  # the bot has to IDENTIFY again


HELD_REPLY = " ".join(f"w{n}" for n in range(30))


async def _reply_held_mid_stream(world: World) -> tuple[SimMessage, LyzrScript]:
    """A mention in #general whose reply shows its first words, then holds after ten
    tokens until the test sets ``script.hold``: (the mention, the agent's script)."""
    script = LyzrScript(tokens=split_words(HELD_REPLY), delay=0.0, hold_after=10)
    world.lyzr.enqueue(script)
    start = await world.sim.user_message(world.sim.channel("general").id, "long", mention_bot=True)
    await world.until(lambda: any(m.content.startswith("w0") for m in world.bot_messages(start.id)))
    return start, script


@pytest.mark.parametrize("disrupt", DISRUPTIONS.values(), ids=DISRUPTIONS.keys())
async def test_a_reply_streaming_through_a_reconnect_completes(
    world: World, disrupt: Disrupt
) -> None:
    sim, lyzr = world.sim, world.lyzr
    start, script = await _reply_held_mid_stream(world)
    before = (await sim.wait_for_session()).id
    await disrupt(sim)
    now = (await sim.wait_for_session()).id
    assert (now != before) == (disrupt in NEW_SESSION)  # resumed, or identified anew
    script.hold.set()
    await world.answered(1)
    (message,) = world.bot_messages(start.id)
    assert message.content == HELD_REPLY and message.components != []  # finished, feedback shown
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


FAST_HEARTBEATS: dict[str, Any] = {
    "heartbeat_interval_ms": 200,
    "heartbeat_tolerance": 1.0,
    "gateway_send_limit": 10_000,
}
"""A 200 ms heartbeat interval (Discord's is 41.25 s), a beat late by up to another one
tolerated (a busy test machine delays discord.py's keep-alive thread): a test sees a missed
beat or a zombie in under a second. The send limit grows to match: five beats a second
would pass Discord's 120 a minute."""


async def _reply_through(world: World, event: Callable[[int], Awaitable[None]]) -> None:
    """A reply streams in a thread while ``event(thread_id)`` happens and sends "during"
    there; that message is answered once, and the reply completes once, with its feedback
    buttons."""
    lyzr = world.lyzr
    start, script = await _reply_held_mid_stream(world)
    await event(start.id)
    script.hold.set()
    await world.answered(2)
    await world.quiet()  # whatever a RESUME replayed has been read, and not answered again
    first, second = world.bot_messages(start.id)
    assert first.content == HELD_REPLY and first.components != []
    assert second.content == "You said: during"
    assert len(world.results) == 2 and len(lyzr.stream_requests()) == 2


async def test_the_bot_over_the_gateway_send_limit_is_closed_with_4008_and_resumes(
    bot_world: BotWorld,
) -> None:
    """Five events per connection here (Discord's 120 a minute, scaled down): the bot's
    heartbeat and IDENTIFY, then presence updates until one too many; the simulator closes
    with 4008 and discord.py resumes on a new connection (with a new window)."""
    async with bot_world(sim={"gateway_send_limit": 5}) as world:
        sim = world.sim
        session = await sim.wait_for_session()

        async def over_the_limit(thread: int) -> None:
            old = session.connection
            assert old is not None
            for _ in range(old.received.remaining + 1):
                await world.bot.client.change_presence(status=discord.Status.idle)
            await sim.user_message(thread, "during", mention_bot=True)
            await sim.wait_until(lambda: session.connection is not old)
            await sim.until_back(session)
            assert sim.sessions == [session]  # resumed, not identified anew

        await _reply_through(world, over_the_limit)


async def test_a_missed_heartbeat_closes_the_connection_and_the_bot_resumes(
    bot_world: BotWorld,
) -> None:
    """The bot's keep-alive thread stops (a stalled process): the simulator closes the
    connection one interval and its tolerance later, and discord.py resumes."""
    async with bot_world(sim=FAST_HEARTBEATS) as world:
        sim = world.sim
        session = await sim.wait_for_session()

        async def missed_heartbeats(thread: int) -> None:
            ws = world.bot.client.ws
            assert ws is not None and ws._keep_alive is not None
            old = session.connection
            ws._keep_alive.stop()
            await sim.user_message(thread, "during", mention_bot=True)
            await sim.wait_until(lambda: session.connection is not old)
            await sim.until_back(session)
            assert sim.sessions == [session]

        await _reply_through(world, missed_heartbeats)


async def test_a_zombie_connection_is_closed_by_the_bot_and_resumed(
    bot_world: BotWorld,
) -> None:
    """The simulator stops writing to the connection (no HEARTBEAT_ACK, no dispatch): after
    its ``heartbeat_timeout`` of silence discord.py closes it and resumes, and the RESUME
    replays what it missed — the message sent meanwhile and the reply's own updates."""
    async with bot_world(sim=FAST_HEARTBEATS, heartbeat_timeout=1.0) as world:
        sim = world.sim

        async def zombie(thread: int) -> None:
            session = await sim.zombie_connection()
            await sim.user_message(thread, "during", mention_bot=True)
            await sim.until_back(session)
            assert sim.sessions == [session]

        await _reply_through(world, zombie)
