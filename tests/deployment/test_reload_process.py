"""SIGHUP on a real ``threadcast slack`` process (HTTP mode, the Slack simulator, two local
Lyzr servers): a valid file is put in force (new conversations follow the new routes, a
running conversation keeps its agent); an invalid file keeps the configuration in force,
the log says why, and the bot keeps answering."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bots.simulators.slack import SlackSimulator
from tests.bots.slack.conftest import mention
from tests.deploy.platforms import slack_env
from tests.deployment.files import KEYS, route, two_agents, write
from tests.ops.test_shutdown import bot_process
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrServer

ROOT = Path(__file__).parents[2]


class Process:
    """A running bot whose JSON log lines are collected as they come."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.logs: list[str] = []
        self._new_line = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            line = raw.decode().strip()
            if line.startswith("{"):
                self.logs.append(json.loads(line)["msg"])
                self._new_line.set()

    async def log_line(self, *words: str, within: float = 20.0) -> str:
        """The first log line holding every word, waiting for it if need be."""
        async with asyncio.timeout(within):
            while True:
                for line in self.logs:
                    if all(word in line for word in words):
                        return line
                self._new_line.clear()
                await self._new_line.wait()

    async def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.process.wait(), 30)
        await self._reader
        return code


@asynccontextmanager
async def slack_process(env: dict[str, str], port: int) -> AsyncIterator[Process]:
    async with bot_process("slack", env, port) as process:
        yield Process(process)


async def test_sighup_reloads_a_valid_file_and_keeps_the_old_one_for_an_invalid_one(
    redis_url: str, tmp_path: Path
) -> None:
    async with (
        SlackSimulator() as sim,
        LyzrServer(api_key=KEYS["SUPPORT_KEY"]) as support,
        LyzrServer(api_key=KEYS["ENG_KEY"]) as eng,
    ):
        ws = sim.workspace
        config = write(tmp_path / "threadcast.toml", two_agents(support, eng) + route("support"))
        port = free_port()
        env = {
            key: value for key, value in os.environ.items()
            if not key.startswith(("THREADCAST_", "LYZR_", "OPENAI_", "SLACK_"))
        }  # fmt: skip
        env.update(
            KEYS, PORT=str(port), REDIS_URL=redis_url, THREADCAST_CONFIG=str(config),
            THREADCAST_LOG_FORMAT="json", THREADCAST_LOG_LEVEL="WARNING",
            **slack_env(sim),
        )  # fmt: skip
        async with slack_process(env, port) as bot:
            sim.events_url = f"http://127.0.0.1:{port}/slack/events"
            first = await sim.user_says(ws.general, ws.alice, mention(sim, "one"))
            await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 1)

            write(config, two_agents(support, eng) + route("eng"))
            bot.process.send_signal(signal.SIGHUP)
            await bot.log_line("configuration reloaded", "agents support, eng")
            second = await sim.user_says(ws.general, ws.alice, mention(sim, "two"))
            await sim.user_says(ws.general, ws.alice, "one more", thread_ts=first.thread_ts)
            await sim.wait_for(lambda: len(sim.bot_replies(ws.general, second.thread_ts)) == 1)
            await sim.wait_for(lambda: len(sim.bot_replies(ws.general, first.thread_ts)) == 2)
            assert [r.json["message"] for r in support.stream_requests()] == ["one", "one more"]
            assert [r.json["message"] for r in eng.stream_requests()] == ["two"]

            write(config, two_agents(support, eng) + route("suport"))
            bot.process.send_signal(signal.SIGHUP)
            refused = await bot.log_line("configuration not reloaded")
            assert "routes[0].agent: unknown agent 'suport'" in refused
            assert str(config) in refused
            third = await sim.user_says(ws.general, ws.bob, mention(sim, "three"))
            await sim.wait_for(lambda: len(sim.bot_replies(ws.general, third.thread_ts)) == 1)
            assert [r.json["message"] for r in eng.stream_requests()] == ["two", "three"]
            assert await bot.stop() == 0
