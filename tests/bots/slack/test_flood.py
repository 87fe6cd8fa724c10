"""A burst of mentions larger than Slack's posting budget (issue 18.1), at a scale for CI.

The full-scale figures (2,000 and 500 mentions over 100 channels, Slack's real limits)
come from ``tests/bench/bench_flood.py``. Here time is scaled instead: the simulator's
limits (chat.postMessage per channel and per workspace, chat.update) and the bot's budgets
run ten times faster, and the relay's patience for the budget (``acquire_timeout``) is
shrunk further (120 s against a 400 s queue in the real flood; 1 s against a queue of well
over ten seconds here), so the queue is longer, relative to the patience, than in
production. Its ``finish_timeout`` (300 s), which counts neither the time queued for the
budget nor calls in flight but does count 429 pauses, backoffs and a starved event loop,
is scaled like the limits (30 s): at 3 s, a full run on two cores once cut a finish short
and left one final post to the recovery reapers, which post it without the controls.

Why 120 mentions over 4 channels, 100 a second, are enough (240 over 12 channels at 50 a
second took 30 s of ``chat.update`` budget alone, issue 17): the burst still exceeds every
budget the test is about, scaled ×10 — each channel gets 25 mentions a second against 10
posts a second, the workspace 100 against 50 posts a second, and the 120 final edits need
some 14 s of the workspace's 500 ``chat.update`` a minute, fourteen times the relay's
``acquire_timeout``. So replies queue for every budget, a final text goes out as a final
edit or (its first post still queued) posted whole, and each one must still end with its
answer and its 👍 / 👎 controls.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.ratelimit import DEFAULT_RATE_RULES, RateRule
from tests.bots.slack.conftest import StartBot
from tests.bots.slack.flood import Flood, flood
from tests.retries import patch_retry_policy
from tests.servers.lyzr_server import LyzrServer

SPEED = 10.0  # the simulator's and the bot's limits, this many times Slack's


def _scaled(rule: RateRule) -> RateRule:
    return replace(rule, per_minute=rule.per_minute * SPEED)


async def test_every_mention_of_a_burst_ends_with_its_answer_or_a_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for method in ("chat.postMessage", "chat.update"):
        sim.set_rate_limit(method, *map(_scaled, DEFAULT_RATE_RULES[method]))
    patch_retry_policy(monkeypatch, acquire_timeout=1.0, finish_timeout=300.0 / SPEED)
    bot = await start_bot(update_per_minute=50.0 * SPEED, edit_interval=1.0 / SPEED)
    surface = bot.surface
    surface.config = replace(
        surface.config,
        post_per_second_per_channel=surface.config.post_per_second_per_channel * SPEED,
        post_per_minute=surface.config.post_per_minute * SPEED,
    )
    mentions = 120  # see the module docstring for why this is enough
    burst = Flood(mentions=mentions, channels=4, rate=2 * 100.0)  # two events per mention
    # A bound for a hung run, not a speed claim: ~20-30 s in a full run; beside two CPU
    # burners on a slow host once more than 120 s, its Redis calls timing out and retried.
    figures = await flood(sim, bot, burst, drain_timeout=300)
    assert figures.nothing == 0 and figures.still_streaming == 0
    assert figures.answered + sum(figures.notices.values()) == mentions
    assert figures.answered == mentions, figures.notices  # a healthy agent: no notice due
    # 👍 / 👎 ride on each reply's final edit or post: none waits for an edit of its own.
    assert figures.with_feedback == mentions
    # Every event acknowledged, a late one on Slack's retry (answered once all the same).
    # How fast the acks are (Slack's 3 s) is a wall-clock figure: bench_flood.py prints it.
    assert figures.unacked == 0
    assert len(lyzr.stream_requests()) == mentions  # each message asked once
