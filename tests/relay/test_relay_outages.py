"""The relay through platform outages: a reply outlives minutes of 5xx and timeouts.

What an outage looks like to the relay: every post and edit raises a
:class:`~core.errors.SurfaceError` that is neither a 429 nor a refusal — what the Slack
adapter makes of a 5xx, a gateway's HTML error page, a timeout or a refused connection
(``adapters/slack/errors.py``), and the Discord adapter of discord.py's ``DiscordServerError``.
Fake time (looptime): the minutes pass at once.
"""

from __future__ import annotations

import asyncio

from core.errors import PlatformUnavailable
from core.relay import Relay
from tests.fake_time import IN_MEMORY
from tests.relay.helpers import SpyScheduler, even, scripted
from tests.surfaces import DEFAULT_LIMITS, THREAD, RecordingSurface

pytestmark = IN_MEMORY

INDICATOR = DEFAULT_LIMITS.streaming_indicator


def outage(surface: RecordingSurface, *, starts: float, lasts: float) -> asyncio.Task[None]:
    """Every post and edit fails from ``starts`` for ``lasts`` seconds (loop time)."""

    async def run() -> None:
        await asyncio.sleep(starts)
        for kind in ("post", "edit", "status"):
            surface.fail(kind, lambda: PlatformUnavailable("HTTP 503"), times=None)
        await asyncio.sleep(lasts)
        surface.heal()

    return asyncio.create_task(run())


async def test_a_70s_outage_mid_reply_is_outlived() -> None:
    """Slack unreachable for 70 s while the reply streams: the rest of the reply arrives
    once it is back, and the message ends final, without indicator or Stop button (it used
    to stay at "w0…w8 ▍" for ever)."""
    surface = RecordingSurface()
    words = "".join(f" w{i}" for i in range(100)).strip()
    down = outage(surface, starts=3.0, lasts=70.0)
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted(even(words, pieces=100, every=0.1))
    )
    await down
    assert outcome.status == "completed" and outcome.delivered, outcome.undelivered
    assert surface.texts() == [words]
    (message,) = surface.messages.values()
    assert message.final and INDICATOR not in message.text
    assert any(c.error is not None for c in surface.calls_of("edit"))  # the outage was met


async def test_eight_5xx_at_the_start_of_a_reply() -> None:
    """The first eight posts fail with a 5xx: the reply still gets through (it used to be
    lost entirely)."""
    surface = RecordingSurface()
    surface.fail("post", lambda: PlatformUnavailable("HTTP 500"), times=8)
    outcome = await Relay(surface, SpyScheduler()).deliver(
        THREAD, scripted([(0.0, "Hello"), (0.5, " there")])
    )
    assert outcome.delivered, outcome.undelivered
    assert surface.texts() == ["Hello there"]
    assert len([c for c in surface.calls_of("post") if c.error is not None]) == 8


async def test_a_mention_during_a_12s_outage_is_answered() -> None:
    """The platform is down when the reply starts and for 12 s: the answer is posted once
    it is back (it used to be never answered)."""
    surface = RecordingSurface()
    down = outage(surface, starts=0.0, lasts=12.0)
    await asyncio.sleep(0)  # the outage is on before the reply starts
    outcome = await Relay(surface, SpyScheduler()).deliver(THREAD, scripted([(0.3, "Answer.")]))
    await down
    assert outcome.delivered, outcome.undelivered
    assert surface.texts() == ["Answer."]
    assert surface.messages[next(iter(surface.messages))].final
