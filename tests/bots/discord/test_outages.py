"""Discord's API down while a reply ends (``sim.start_outage``: 503 for every REST call,
discord.py's DiscordServerError): the reply outlives it and ends final.

Time is scaled: the outage lasts a tenth of the scenario's 10 s, and the relay's backoff
(``RetryPolicy``: 0.5 s doubling up to 8 s) is shrunk in proportion, so the reply meets as
many failed tries as at full scale and the outage still ends between two of them, without
the test waiting out 10 s plus an 8 s backoff.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.discord import STOP_CUSTOM_ID
from tests.bots.discord.conftest import World
from tests.retries import patch_retry_policy, scaled_backoff
from tests.servers.lyzr_server import LyzrScript, split_words

SCALE = 0.1  # the scenario's times (and the relay's backoff), this many times the real ones
# The scenario: longer than the old retries (~7 s), far shorter than the new (300 s).
OUTAGE = 10.0 * SCALE


async def test_a_reply_ending_during_an_outage_is_finished_once_discord_is_back(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_retry_policy(monkeypatch, **scaled_backoff(SCALE))
    sim = world.sim
    text = " ".join(f"w{n}" for n in range(30))
    world.lyzr.enqueue(LyzrScript(tokens=split_words(text), delay=0.05 * SCALE))
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
