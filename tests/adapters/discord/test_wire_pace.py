"""The bot's requests are counted as they leave: never more than the limit in any second,
however they bunch on the way (adapters/discord/wire_pace.py)."""

from __future__ import annotations

import asyncio
import bisect

import aiohttp
import pytest

from adapters.discord import DiscordRates, WirePace
from adapters.discord.wire_pace import counted
from bots.simulators.discord import DiscordSimulator, running_client
from tests.adapters.discord.conftest import make_client


def most_in_window(times: list[float], window: float = 1.0) -> int:
    """The most instants of ``times`` in any half-open window ``[t, t + window)``."""
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + window - 1e-9) - i for i, t in enumerate(ordered)),
        default=0,
    )


@pytest.mark.looptime
async def test_a_bunch_leaves_at_most_the_limit_per_second_in_the_order_it_came() -> None:
    pace = WirePace(5)
    loop = asyncio.get_running_loop()
    start = loop.time()
    left: list[tuple[int, float]] = []

    async def request(n: int) -> None:
        await pace.leave()
        left.append((n, loop.time() - start))

    await asyncio.gather(*(request(n) for n in range(12)))
    assert [n for n, _ in left] == list(range(12))
    times = [t for _, t in left]
    assert most_in_window(times) == 5
    # Room for five at once: they leave without waiting; the rest as the window slides.
    assert times == pytest.approx([0.0] * 5 + [1.0] * 5 + [2.0] * 2, abs=1e-3)
    assert pace.waited == 7


@pytest.mark.looptime
async def test_requests_spread_out_never_wait() -> None:
    pace = WirePace(2)
    loop = asyncio.get_running_loop()
    for _ in range(6):
        before = loop.time()
        await pace.leave()
        assert loop.time() == before
        await asyncio.sleep(0.5)  # two per second: exactly the limit
    assert pace.waited == 0


def test_the_wire_limit_is_the_budgets_bound_and_under_discords() -> None:
    assert DiscordRates().wire_limit == 49  # 46/s + a burst of 3
    assert DiscordRates(global_rate=6, global_burst=2).wire_limit == 8
    assert DiscordRates(global_rate=50, global_burst=10).wire_limit == 49
    with pytest.raises(ValueError, match="positive"):
        WirePace(0)


async def test_discord_py_requests_fired_at_once_stay_under_the_global_limit() -> None:
    """Through the real discord.py client and the simulator: twelve requests at once leave
    at most five per second, and a global limit one above that (the margin the bot keeps
    below Discord's 50, for jitter on the way) refuses none. Real time (discord.py's gateway
    runs beside it): about two seconds."""
    async with DiscordSimulator(global_limit=6) as sim:
        trace = aiohttp.TraceConfig()
        pace = WirePace(5)
        pace.attach(trace)
        loop = asyncio.get_running_loop()
        left: list[float] = []

        async def leaving(*_: object) -> None:  # after the pace's hook: when a request goes
            left.append(loop.time())

        trace.on_connection_reuseconn.append(leaving)
        trace.on_connection_create_end.append(leaving)
        client = make_client(http_trace=trace)
        async with running_client(sim, client):
            skip = len(sim.calls)
            users = await asyncio.gather(*(client.fetch_user(sim.bot.id) for _ in range(12)))
            assert {u.id for u in users} == {sim.bot.id}
        assert [c.status for c in sim.calls[skip:]] == [200] * 12  # none refused, none retried
        assert all(c.status == 200 for c in sim.calls)  # nor the log-in's
        assert most_in_window(left) <= 5  # the log-in and gateway connect counted too
        assert pace.waited > 0


def test_interaction_callbacks_and_webhooks_are_not_counted() -> None:
    assert not counted("/api/v10/interactions/1/token/callback")
    assert not counted("/api/v10/webhooks/2/token/messages/@original")
    assert counted("/api/v10/channels/3/messages")
    assert counted("/api/v10/users/@me")
