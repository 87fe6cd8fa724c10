"""Run as a child process by test_first_reply_imports.py: a Discord bot answers its first
mention, and this prints (JSON) the modules imported while it answered."""

from __future__ import annotations

import asyncio
import json
import sys

from bots.cli import without_httpx_cli
from bots.discord import DiscordBot
from bots.simulators.discord import DiscordSimulator
from core.runtime import Runtime
from tests.bots.discord.conftest import bot_settings, record_results, sim_settings
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import eventually


async def main(redis_url: str, namespace: str) -> list[str]:
    async with DiscordSimulator() as sim, LyzrServer() as lyzr:
        settings = bot_settings(redis_url, lyzr, shutdown_grace=0.0)
        async with Runtime(settings, namespace=namespace) as runtime:
            bot = DiscordBot(runtime, sim_settings(sim), guild_ready_timeout=0.05)
            async with bot:
                results = record_results(bot.responder)
                await sim.wait_until(lambda: len(sim.commands()) == 4)  # ready: synced
                before = set(sys.modules)
                lyzr.enqueue(LyzrScript(tokens=split_words("one two three"), delay=0.01))
                await sim.user_message(sim.channel("general").id, "hello", mention_bot=True)
                await eventually(lambda: len(results) == 1, what="the answer")
                await bot.tasks.idle()
                return sorted(set(sys.modules) - before)


if __name__ == "__main__":
    without_httpx_cli()  # as the CLI does before anything imports httpx
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
