"""The busy switch: the simulators refuse part of the bots' calls with 429, the page's
timeline shows it, and the bots adapt (pause, slow down) without losing any text."""

from __future__ import annotations

import pytest

from bots.playground.simulators import DEFAULT_RATE_RULES
from bots.playground.slack_pane import BUSY_RULES
from tests.playground.conftest import Running
from tests.playground.helpers import HELLO_END, finished, reply_text


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_a_busy_platform_refuses_with_429_and_the_reply_still_completes(
    playground: Running, platform: str
) -> None:
    page = await playground.open_page()
    status, answer = await playground.call(platform, "busy", {"on": True})
    assert (status, answer) == (200, {"busy": True})
    await page.until(lambda: page.busy[platform])

    posted = await playground.post(platform, "@threadcast hello")

    await page.until(lambda: finished(platform, page.thread(platform, posted)), within=40.0)
    limited = [c for c in page.calls[platform] if c["kind"] == "limited"]
    assert limited and all(c["outcome"].startswith("429") for c in limited)
    assert reply_text(page.thread(platform, posted)).rstrip().endswith(HELLO_END)


async def test_switching_busy_off_restores_the_real_limits(playground: Running) -> None:
    limiter = playground.stack.slack.sim.api.limiter
    await playground.call("slack", "busy", {"on": True})
    assert all(limiter.rules[m] == rules for m, rules in BUSY_RULES.items())

    status, answer = await playground.call("slack", "busy", {"on": False})

    assert (status, answer) == (200, {"busy": False})
    assert all(limiter.rules[m] == DEFAULT_RATE_RULES[m] for m in BUSY_RULES)


async def test_switching_discord_busy_off_disarms_its_refusals(playground: Running) -> None:
    await playground.call("discord", "busy", {"on": True})
    sim = playground.stack.discord.sim
    await sim.wait_until(lambda: bool(sim.state.faults))

    await playground.call("discord", "busy", {"on": False})

    await sim.wait_until(lambda: not any(f.times > 0 for f in sim.state.faults))


async def test_busy_must_be_true_or_false(playground: Running) -> None:
    status, answer = await playground.call("slack", "busy", {"on": "yes"})
    assert status == 400
    assert "true or false" in answer["error"]
