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
from adapters.discord.feedback_buttons import FEEDBACK_DOWN_ID, FEEDBACK_UP_ID
from tests.bots.discord.conftest import BotWorld
from tests.retries import patch_retry_policy, scaled_backoff
from tests.servers.lyzr_server import LyzrScript, split_words

SCALE = 0.1  # the scenario's times (and the relay's backoff), this many times the real ones
# The scenario: longer than the old retries (~7 s), far shorter than the new (300 s).
OUTAGE = 10.0 * SCALE


async def test_a_reply_ending_during_an_outage_is_finished_once_discord_is_back(
    bot_world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    patch_retry_policy(monkeypatch, **scaled_backoff(SCALE))
    # Started after the patch: a bot built before it (the ``world`` fixture) kept the
    # default backoff, which this test once ran with unawares.
    async with bot_world() as world:
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
        ids = [c.get("custom_id") for row in reply.components for c in row["components"]]
        assert STOP_CUSTOM_ID not in ids, ids
        (result,) = world.results
        assert result.outcome is not None and result.outcome.delivered


async def test_a_final_edit_left_to_the_reapers_keeps_the_feedback_buttons(
    bot_world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply ends while Discord is down, and its patience for the finish runs out
    before Discord is back: its final edit is left to the recovery reapers, which make it
    with 👍 / 👎, as the owner would have."""
    patch_retry_policy(monkeypatch, **scaled_backoff(SCALE), finish_timeout=0.3)
    # Started after the patch (its relay has that policy); its reapers scan every 0.5 s.
    async with bot_world(recovery_interval=0.5) as world:
        sim = world.sim
        text = " ".join(f"w{n}" for n in range(30))
        tokens = split_words(text)
        script = LyzrScript(tokens=tokens, delay=0.05 * SCALE, hold_after=len(tokens))
        world.lyzr.enqueue(script)
        start = await sim.user_message(sim.channel("general").id, "tell me", mention_bot=True)
        await world.until(lambda: any("w29" in m.content for m in world.bot_messages(start.id)))
        sim.start_outage()
        script.hold.set()  # the reply ends ([DONE]) now, while every final edit meets a 503
        await world.until(lambda: bool(world.results))  # the owner gave up on its finish
        sim.end_outage()

        def final() -> bool:
            (reply,) = world.bot_messages(start.id)
            return "▍" not in reply.content

        await world.until(final, within=30)
        (reply,) = world.bot_messages(start.id)
        assert reply.content == text
        ids = [c.get("custom_id") for row in reply.components for c in row["components"]]
        assert ids == [FEEDBACK_UP_ID, FEEDBACK_DOWN_ID]
        (result,) = world.results
        assert result.outcome is not None and result.outcome.undelivered  # left to reapers
