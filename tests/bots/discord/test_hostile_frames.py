"""Malformed gateway frames: each is logged and skipped; the bot stays connected (the same
gateway session, no reconnect) and answers the next good message.

Every probe goes through the simulator's gateway over the real websocket (zlib-stream, as
discord.py asks for), so it meets discord.py's own decoding and parsing first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bots.simulators.discord import DiscordSimulator
from bots.simulators.discord.message_payloads import message_json
from tests.bots.discord.conftest import World

Probe = Callable[[DiscordSimulator], Awaitable[int]]


def a_mention(sim: DiscordSimulator, **changes: Any) -> dict[str, Any]:
    """A well-formed MESSAGE_CREATE payload of a mention, with ``changes`` applied."""
    general = sim.channel("general").id
    stored = sim.world.add_message(
        general, sim.user("alice"), {"content": f"<@{sim.bot.id}> probe"}, []
    )
    return {**message_json(sim.world, stored, gateway=True), **changes}


PROBES: dict[str, Probe] = {
    "MESSAGE_CREATE with d null": lambda sim: sim.dispatch_raw("MESSAGE_CREATE", None),
    "MESSAGE_CREATE with only an id": lambda sim: sim.dispatch_raw(
        "MESSAGE_CREATE", {"id": "1234567890"}
    ),
    "MESSAGE_CREATE with a null author": lambda sim: sim.dispatch_raw(
        "MESSAGE_CREATE", a_mention(sim, author=None)
    ),
    "MESSAGE_CREATE with a non-numeric id": lambda sim: sim.dispatch_raw(
        "MESSAGE_CREATE", a_mention(sim, id="not-a-snowflake")
    ),
    "INTERACTION_CREATE without token or data": lambda sim: sim.dispatch_raw(
        "INTERACTION_CREATE", {"id": "1", "type": 2, "channel_id": "nope"}
    ),
    "THREAD_CREATE with a bad guild id": lambda sim: sim.dispatch_raw(
        "THREAD_CREATE", {"id": "1", "guild_id": "nope", "type": 11}
    ),
    "GUILD_CREATE with a non-numeric id": lambda sim: sim.dispatch_raw(
        "GUILD_CREATE", {"id": "nope"}
    ),
    "MESSAGE_DELETE with nothing": lambda sim: sim.dispatch_raw("MESSAGE_DELETE", {}),
    "a frame that is not JSON": lambda sim: sim.send_raw_frame("this is {not json"),
    "a JSON frame that is not an object": lambda sim: sim.send_raw_frame("[1, 2, 3]"),
}


@pytest.mark.parametrize("probe", list(PROBES), ids=list(PROBES))
async def test_a_malformed_frame_is_skipped_and_the_bot_stays_connected(
    world: World, probe: str, caplog: pytest.LogCaptureFixture
) -> None:
    sim = world.sim
    (session,) = sim.sessions
    connection = session.connection
    with caplog.at_level(logging.WARNING):
        assert await PROBES[probe](sim) == 1
        start = await sim.user_message(sim.channel("general").id, "still there?", mention_bot=True)
        await world.answered(1)
    assert [m.content for m in world.bot_messages(start.id)] == ["You said: still there?"]
    assert world.bot.connected()
    assert sim.sessions == [session] and session.connection is connection  # never reconnected
    assert any("malformed" in r.getMessage() for r in caplog.records), probe
