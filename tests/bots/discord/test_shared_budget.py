"""Two bot instances on one token and one Redis, as two processes or shards would run:
Discord's global limit counts the token's requests from all of them, so with
``THREADCAST_SHARED_BUDGETS`` their edit schedulers draw on one budget in Redis and together
stay under the limit; each keeping its own budget would overrun it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bots.discord import DiscordBot
from bots.simulators.discord import DiscordSimulator
from core.runtime import Runtime
from tests.bots.discord.conftest import bot_settings, record_results, sim_settings
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import eventually

THREADS = 16
GLOBAL_LIMIT = 10  # the simulator's, per token per second
RATE, BURST = 6.0, 2.0  # each bot's configured global budget: 8 in any second at most


@contextlib.asynccontextmanager
async def _bot(
    sim: DiscordSimulator, lyzr: LyzrServer, redis_url: str, namespace: str, *, shared: bool
) -> AsyncIterator[DiscordBot]:
    settings = bot_settings(redis_url, lyzr, shutdown_grace=0.0, shared_budgets=shared)
    # One namespace for both bots (one deployment), unique to this test.
    async with Runtime(settings, namespace=namespace) as runtime:
        discord = sim_settings(sim, global_rate=RATE, global_burst=BURST)
        bot = DiscordBot(runtime, discord, guild_ready_timeout=0.05)
        async with bot:
            yield bot


async def _run(redis_url: str, namespace: str, *, shared: bool) -> tuple[list[int], int]:
    """Answers per bot, and the 429s the simulator answered."""
    async with contextlib.AsyncExitStack() as stack:
        sim = await stack.enter_async_context(DiscordSimulator(global_limit=GLOBAL_LIMIT))
        lyzr = await stack.enter_async_context(LyzrServer())
        bots = [
            await stack.enter_async_context(_bot(sim, lyzr, redis_url, namespace, shared=shared))
            for _ in range(2)
        ]
        results = [record_results(b.responder) for b in bots]
        await sim.wait_until(lambda: len(sim.commands()) == 4)  # new, stop, help, status
        general = sim.channel("general").id
        # A bot whose gateway has not yet delivered the guild (its guild_ready_timeout is
        # short here) must fetch the channel before it can claim a message, and loses
        # every claim to the other: wait until both know the channel.
        await eventually(
            lambda: all(bot.client.get_channel(general) is not None for bot in bots),
            what="both bots knowing the channel",
        )
        # Logging in (users/@me, the application, command sync: 3 requests per bot, all
        # done once a bot is ready) is discord.py's, outside the budget; under a real 50/s
        # it is noise, under this test's 10/s it is not: the simulator's clock moves past
        # its global window, so the answers' window holds only the answers' requests.
        sim.advance_clock(sim.config.global_window)
        reply = " ".join(f"w{i}" for i in range(60))
        for _ in range(THREADS):
            lyzr.enqueue(LyzrScript(tokens=split_words(reply), delay=0.1))
        for n in range(THREADS):
            await sim.user_message(general, f"question {n}", mention_bot=True)
        await eventually(lambda: sum(map(len, results)) == THREADS, within=60, what="every answer")
        async with asyncio.timeout(60):
            for bot in bots:
                await bot.tasks.idle()
        for thread in sim.threads():
            ours = [m for m in sim.channel_messages(thread.id) if m.author.id == sim.bot.id]
            (message,) = ours
            assert message.content == reply  # every reply complete, whoever answered
        answered = [len(r) for r in results]
        return answered, sum(1 for call in sim.calls if call.status == 429)


async def test_two_bots_on_one_token_share_the_global_budget(
    redis_url: str, namespace: str
) -> None:
    answered, refused = await _run(redis_url, namespace, shared=True)
    assert sum(answered) == THREADS and min(answered) > 0  # both bots took turns
    assert refused == 0  # together they stayed under the token's limit
    # The control (two budgets of 8/s each overrun a limit of 10/s) depends on how fast the
    # machine is, so it is a benchmark's: tests/bench/bench_shared_budget.py, "separate".
