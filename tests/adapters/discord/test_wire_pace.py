"""The bot's requests are counted from leaving until a second after their answer: never more
than the limit that Discord could count in any second, however they bunch on the way or wait
at a busy server (adapters/discord/wire_pace.py)."""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import Awaitable, Callable

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
        ticket = await pace.leave()
        left.append((n, loop.time() - start))
        pace.answered(ticket)  # an instant answer: the request counts one second more

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
        pace.answered(await pace.leave())
        assert loop.time() == before
        await asyncio.sleep(0.5)  # two per second: exactly the limit
    assert pace.waited == 0


@pytest.mark.looptime
async def test_a_request_counts_until_a_second_after_its_answer() -> None:
    pace = WirePace(3)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tickets = [await pace.leave() for _ in range(3)]
    assert pace.in_flight == 3 and pace.counting(loop.time()) == 3
    fourth = asyncio.create_task(pace.leave())
    await asyncio.sleep(5.0)  # no answer yet: the three may all still be counted
    assert not fourth.done()
    pace.answered(*tickets[:2])  # at +5 s: they count until +6 s
    await fourth
    assert loop.time() - start == pytest.approx(6.0, abs=1e-3)
    assert pace.in_flight == 2 and pace.counting(loop.time()) == 2  # the third and fourth


@pytest.mark.looptime
async def test_a_server_that_counts_late_never_counts_more_than_the_limit_in_a_second() -> None:
    """Thirty requests at once reach a server that stalls from +0.5 to +2 s: the ones that
    arrive in the stall are counted together when it resumes, right before their answers.
    Counted only where they leave (the rule before), 2 × limit land in the server's second
    at +2 s; counted until a second after their answer, never more than the limit."""
    limit = 5
    loop = asyncio.get_running_loop()

    async def run(leave: Callable[[], Awaitable[int]], done: Callable[[int], None]) -> list[float]:
        """The instants the server counts each request."""
        start = loop.time()
        counted_at: list[float] = []

        async def request() -> None:
            ticket = await leave()
            if 0.5 <= loop.time() - start < 2.0:
                await asyncio.sleep(start + 2.0 - loop.time())
            counted_at.append(loop.time() - start)
            done(ticket)  # the answer comes back at once

        await asyncio.gather(*(request() for _ in range(30)))
        return counted_at

    pace = WirePace(limit)
    counted_at = await run(pace.leave, pace.answered)
    assert most_in_window(counted_at) == limit
    assert sorted(counted_at)[limit : 2 * limit] == pytest.approx([2.0] * limit, abs=1e-3)
    assert pace.in_flight == 0

    left: list[float] = []
    bunch = loop.time()

    async def leave_only() -> int:  # a bunch leaving ``limit`` per second, in order
        due = bunch + len(left) // limit
        left.append(due)
        await asyncio.sleep(due - loop.time())
        return 0

    assert most_in_window(await run(leave_only, lambda _: None)) == 2 * limit
    assert most_in_window(left) == limit


@pytest.mark.looptime
async def test_every_request_that_left_counts_as_in_flight_until_answered() -> None:
    """While every counted request is in flight no time frees room: only an answer does,
    a second later."""
    pace = WirePace(2)
    loop = asyncio.get_running_loop()
    first = await pace.leave()
    await pace.leave()
    third = asyncio.create_task(pace.leave())
    await asyncio.sleep(60.0)
    assert not third.done() and pace.waited == 1
    answered = loop.time()
    pace.answered(first)
    await third
    assert loop.time() - answered == pytest.approx(1.0, abs=1e-3)


async def test_a_request_that_fails_after_leaving_counts_a_second_from_its_failure() -> None:
    """aiohttp's request-exception trace ends the count: a server that closes the
    connection without answering (real sockets on loopback)."""

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    pace = WirePace(5)
    trace = aiohttp.TraceConfig()
    pace.attach(trace)
    loop = asyncio.get_running_loop()
    async with server, aiohttp.ClientSession(trace_configs=[trace]) as session:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(f"http://127.0.0.1:{port}/api/v10/users/@me")
        failed = loop.time()
        # aiohttp sent the GET again on a fresh connection (RFC 9112 retrying): twice out.
        assert pace.in_flight == 0
        assert pace.counting(failed) == 2
        # Not counted at all: a webhook's request.
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await session.get(f"http://127.0.0.1:{port}/api/v10/webhooks/1/t")
        assert pace.counting(failed) == 2 and pace.in_flight == 0
        assert pace.counting(failed + 1.0) == 0


@pytest.mark.looptime
async def test_a_request_whose_end_goes_unreported_stops_counting_after_lost_after() -> None:
    """Room is lost for ``lost_after`` at most, never for good (module docstring)."""
    pace = WirePace(2, lost_after=30.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await pace.leave()  # its answer is never reported
    answered = await pace.leave()
    await asyncio.sleep(10.0)
    pace.answered(answered)
    pace.answered(answered)  # a ticket counts once
    await pace.leave()  # a second after that answer
    assert loop.time() - start == pytest.approx(11.0, abs=1e-3)
    await pace.leave()  # the unreported one is let go 30 s after it left
    assert loop.time() - start == pytest.approx(30.0, abs=1e-3)
    assert pace.in_flight == 2
    with pytest.raises(ValueError, match="lost_after"):
        WirePace(2, lost_after=1.0)


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
