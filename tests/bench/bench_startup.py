"""Benchmark of a bot process's start-up: the CPU (utime + stime, as the OS counts it) a real
``threadcast discord`` / ``threadcast slack`` process spends from exec until ``/readyz``
says ready, against the platforms' simulators, an agent server and an embedded Redis.

    uv run python tests/bench/bench_startup.py [--runs 5]

Why it matters: the test suite starts dozens of bot processes (recovery, shutdown,
deployment tests), and almost all of a start's CPU is importing modules, so what a command
imports and does not need is paid on every start. Figures: median and min over ``--runs``
starts (the min is the least disturbed by other processes on a shared machine).
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from tests.bench.agent_server import AgentServer
from tests.bench.bot_process import BotProcess
from tests.redis_server import start_test_redis


async def start_cpu(command: str, redis_url: str, data: Path) -> float:
    """CPU seconds one ``threadcast <command>`` process spent until it was ready."""
    async with AgentServer("openai", chunks=1, first_token=0.0) as agent:
        env = {**agent.env(), "REDIS_URL": redis_url, "THREADCAST_DATA_DIR": str(data)}
        if command == "discord":
            async with DiscordSimulator() as discord:
                env |= {
                    "DISCORD_TOKEN": discord.token,
                    "DISCORD_API_URL": discord.api_base,
                    "DISCORD_GATEWAY_URL": discord.gateway_url,
                    "DISCORD_SYNC_COMMANDS": "false",
                }
                async with BotProcess(command, env, data / "bot.log") as bot:
                    return bot.cpu_seconds()
        async with SlackSimulator() as slack:
            ws = slack.workspace
            env |= {
                "SLACK_BOT_TOKEN": ws.bot_token,
                "SLACK_API_URL": slack.api_url,
                "SLACK_SIGNING_SECRET": slack.app.signing_secret,
                "SLACK_HOST": "127.0.0.1",
                "THREADCAST_SHUTDOWN_GRACE": "0",
            }
            env.pop("SLACK_APP_TOKEN", None)
            async with BotProcess(command, env, data / "bot.log") as bot:
                return bot.cpu_seconds()


async def main(runs: int, redis_url: str) -> None:
    for command in ("discord", "slack"):
        figures = []
        for _ in range(runs):
            with tempfile.TemporaryDirectory() as data:
                figures.append(await start_cpu(command, redis_url, Path(data)))
        print(
            f"threadcast {command}: start to ready, CPU median "
            f"{statistics.median(figures):.3f} s, min {min(figures):.3f} s "
            f"({' '.join(f'{f:.2f}' for f in figures)})",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="starts per command (5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as redis_dir, start_test_redis(Path(redis_dir)) as url:
        asyncio.run(main(args.runs, url))
