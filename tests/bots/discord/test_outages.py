"""Discord's API down while a reply ends (``sim.start_outage``: 503 for every REST call,
discord.py's DiscordServerError): the reply outlives it and ends final."""

from __future__ import annotations

import asyncio

from adapters.discord import STOP_CUSTOM_ID
from tests.bots.discord.conftest import World
from tests.servers.lyzr_server import LyzrScript, split_words

OUTAGE = 10.0  # the scenario: longer than the old retries (~7 s), far shorter than the new


async def test_a_reply_ending_during_an_outage_is_finished_once_discord_is_back(
    world: World,
) -> None:
    sim = world.sim
    text = " ".join(f"w{n}" for n in range(30))
    world.lyzr.enqueue(LyzrScript(tokens=split_words(text), delay=0.05))
    general = sim.channel("general").id
    start = await sim.user_message(general, "tell me", mention_bot=True)
    await world.until(lambda: bool(world.bot_messages(start.id)))
    sim.start_outage()
    await asyncio.sleep(OUTAGE)  # how long Discord stays down (not a synchronisation)
    sim.end_outage()
    await world.answered(1, within=60)
    (reply,) = world.bot_messages(start.id)
    assert reply.content == text
    assert "▍" not in reply.content
    # Finished: no Stop button left (the feedback buttons are all that remains).
    custom_ids = [c.get("custom_id") for row in reply.components for c in row["components"]]
    assert STOP_CUSTOM_ID not in custom_ids, custom_ids
    (result,) = world.results
    assert result.outcome is not None and result.outcome.delivered
