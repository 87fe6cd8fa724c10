"""/new, /stop and the Stop button."""

from __future__ import annotations

from bots.discord import texts
from tests.bots.discord.conftest import World
from tests.servers.lyzr_server import LyzrScript, split_words

EPHEMERAL = 1 << 6
STOP_ID = "threadcast:stop"


def slow_reply(words: int = 60, delay: float = 0.15) -> LyzrScript:
    return LyzrScript(tokens=split_words(" ".join(f"w{n}" for n in range(words))), delay=delay)


async def test_commands_are_synced(world: World) -> None:
    assert {c["name"] for c in world.sim.commands()} == {"new", "stop"}


async def test_new_starts_a_fresh_session(world: World) -> None:
    sim = world.sim
    start = await sim.user_message(sim.channel("general").id, "remember me", mention_bot=True)
    await world.answered(1)
    interaction = await sim.slash_command("new", channel_id=start.id)
    await sim.wait_until(lambda: interaction.acknowledged)
    assert interaction.responses[0]["type"] == 4
    assert interaction.responses[0]["data"]["content"] == texts.NEW_DONE
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
    await sim.wait_until(lambda: in_dm.acknowledged)
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
    lyzr.enqueue(slow_reply())
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
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
    await sim.wait_until(lambda: stale.acknowledged)
    assert stale.responses[0]["type"] == 7 and message.components == []


def streaming_components() -> list[dict[str, object]]:
    button = {"type": 2, "style": 2, "label": "Stop", "custom_id": STOP_ID}
    return [{"type": 1, "components": [button]}]


async def test_stop_command(world: World) -> None:
    sim, lyzr = world.sim, world.lyzr
    lyzr.enqueue(slow_reply())
    start = await sim.user_message(sim.channel("general").id, "go", mention_bot=True)
    await sim.wait_until(lambda: bool(world.bot_messages(start.id)))
    stop = await sim.slash_command("stop", channel_id=start.id)
    await world.answered(1)
    assert stop.responses[0]["data"]["content"] == texts.STOPPING
    assert stop.responses[0]["data"]["flags"] == EPHEMERAL
    (message, *_) = world.bot_messages(start.id)
    assert message.content.endswith("_⏹ Stopped._") and message.components == []
    again = await sim.slash_command("stop", channel_id=start.id)
    await sim.wait_until(lambda: again.acknowledged)
    assert again.responses[0]["data"]["content"] == texts.NOTHING_TO_STOP
