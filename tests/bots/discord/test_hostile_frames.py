"""Malformed gateway frames: each is logged and skipped; the bot stays connected (the same
gateway session, no reconnect) and answers the next good message. A message or interaction
whose ids are not snowflakes is dropped at the boundary the same way (issue 10).

Every probe goes through the simulator's gateway over the real websocket (zlib-stream, as
discord.py asks for), so it meets discord.py's own decoding and parsing first.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from bots.discord.snowflakes import invalid_snowflakes, is_snowflake
from bots.simulators.discord import DiscordSimulator
from bots.simulators.discord.message_payloads import interaction_json, message_json
from bots.simulators.discord.models import SimInteraction
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


# Ids that discord.py's ``int()`` reads but that are not snowflakes (64-bit unsigned digit
# strings, discord-api-docs Reference → Snowflakes): each would become a turn, a Redis key
# or a REST path.
NOT_SNOWFLAKES = {
    "negative": "-5",
    "zero": "0",
    "over 64 bits": str(2**64),
    "forty digits": "9" * 40,
    "underscored": "1_234_567_890_123_456",
    "padded": " 1234567890123456 ",
    "other digits": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0661",
    "signed": "+1234567890123456",
}


def with_author_id(sim: DiscordSimulator, value: str) -> dict[str, Any]:
    mention = a_mention(sim)
    return {**mention, "author": {**mention["author"], "id": value}}


ID_FIELDS: dict[str, Callable[[DiscordSimulator, str], dict[str, Any]]] = {
    "id": lambda sim, value: a_mention(sim, id=value),
    "channel_id": lambda sim, value: a_mention(sim, channel_id=value),
    "guild_id": lambda sim, value: a_mention(sim, guild_id=value),
    "author.id": with_author_id,
}


@pytest.mark.parametrize("bad", list(NOT_SNOWFLAKES), ids=list(NOT_SNOWFLAKES))
@pytest.mark.parametrize("field", list(ID_FIELDS))
async def test_a_message_whose_id_is_not_a_snowflake_is_dropped_at_the_boundary(
    world: World, field: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    sim = world.sim
    value = NOT_SNOWFLAKES[bad]
    with caplog.at_level(logging.WARNING):
        assert await sim.dispatch_raw("MESSAGE_CREATE", ID_FIELDS[field](sim, value)) == 1
        start = await sim.user_message(sim.channel("general").id, "next", mention_bot=True)
        await world.answered(1)  # waits for every turn the bot started, the bad one's too
    assert [m.content for m in world.bot_messages(start.id)] == ["You said: next"]
    assert len(world.results) == 1 and len(world.lyzr.stream_requests()) == 1
    as_read = str(int(value))  # what discord.py's int() made of it
    assert not [c for c in sim.calls if as_read in c.params.values()]  # no REST call names it
    assert any(f"invalid {field}" in r.getMessage() for r in caplog.records)
    assert world.bot.connected()


async def test_an_interaction_whose_user_id_is_not_a_snowflake_is_dropped(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    sim = world.sim
    general = sim.channel("general").id
    bad = SimInteraction(
        id=sim.world.ids.next(), token="t" * 64, type=2, channel_id=general,
        user=sim.user("alice"), data={"name": "new", "type": 1, "options": []},
        guild_id=sim.world.guild_id,
    )  # fmt: skip
    sim.world.interactions[bad.id] = bad
    payload = interaction_json(sim.world, bad, sim.config)
    payload["member"]["user"] = {**payload["member"]["user"], "id": "-1"}
    with caplog.at_level(logging.WARNING):
        assert await sim.dispatch_raw("INTERACTION_CREATE", payload) == 1
        good = await sim.slash_command("new", channel_id=general)
        await sim.wait_until(lambda: good.acknowledged, 10.0)
    assert not bad.acknowledged
    assert any("invalid member.user.id" in r.getMessage() for r in caplog.records)


def test_snowflakes_are_64_bit_unsigned_digit_strings() -> None:
    for good in ("1", "1578669089184940033", str(2**64 - 1), 1578669089184940033):
        assert is_snowflake(good), good
    for bad in (*NOT_SNOWFLAKES.values(), "", "12\ud800", 0, -1, 2**64, True, None, 1.5):
        assert not is_snowflake(bad), repr(bad)
    payload = {"id": "1", "author": {"id": "-1"}, "member": {"roles": ["2", "x"]}}
    assert invalid_snowflakes("MESSAGE_CREATE", payload) == ["author.id", "member.roles.*"]
    assert invalid_snowflakes("TYPING_START", payload) == []
