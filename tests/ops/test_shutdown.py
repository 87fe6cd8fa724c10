"""SIGTERM on a real ``threadcast slack`` process (HTTP mode, against the Slack simulator)
and a real ``threadcast discord`` process (against the Discord simulator), each with a slow
agent: the reply in flight is finalised with the "interrupted" notice, no streaming
indicator or Stop button is left, and the conversation's lock is released."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis

from adapters.slack.blocks import STOP_ACTION_ID
from bots.simulators.discord import DiscordSimulator, SimMessage
from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.blocks import find_action
from core.sessions.keys import SessionKeys, conversation_key
from core.texts import INTERRUPTED
from core.turn import ThreadRef
from tests import forked
from tests.bots.slack.conftest import mention, reply_script
from tests.deploy.containers import agent_env
from tests.deploy.platforms import discord_env, slack_env
from tests.processes import healthy
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words


def _bot_env(port: int, redis_url: str, lyzr: LyzrServer) -> dict[str, str]:
    """What both bots need besides their platform's variables: a slow Lyzr agent, Redis,
    a short grace period and JSON logs (to read what happened)."""
    env = {**os.environ, **agent_env(lyzr, redis_url, port), "THREADCAST_SHUTDOWN_GRACE": "0.5"}
    env.pop("SLACK_APP_TOKEN", None)
    return env


ROOT = Path(__file__).parents[2]


@asynccontextmanager
async def bot_process(
    platform: str, env: dict[str, str], port: int
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``threadcast <platform>`` in a child process, healthy; killed on the way out if the
    test did not stop it (stderr is piped: :func:`_terminate` reads the logs)."""
    process = await forked.start(
        sys.executable, "-m", "bots.cli", platform, env=env, cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        if not await healthy(url, process):
            raise AssertionError(f"the bot never answered its health check: {await _why(process)}")
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _why(process: asyncio.subprocess.Process) -> str:
    """What a bot that never became healthy said: its exit status and last logs."""
    if process.returncode is None:
        return "still running"
    assert process.stderr is not None
    logs = (await process.stderr.read()).decode()
    return f"exited {process.returncode}: {logs[-3000:]}"


async def _terminate(process: asyncio.subprocess.Process) -> str:
    """SIGTERM; the process must exit cleanly. Returns its stderr (the JSON logs)."""
    process.send_signal(signal.SIGTERM)
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    logs = stderr.decode()
    assert process.returncode == 0, logs[-2000:]
    return logs


async def sigterm_during_a_discord_reply(
    redis_url: str, **extra_env: str
) -> tuple[DiscordSimulator, SimMessage, str]:
    """A real ``threadcast discord`` process (``extra_env`` added to its environment),
    SIGTERMed (and exited with status 0) while it streams a slow reply to a mention in
    #general. Returns the simulator (stopped, its state still readable), the mention and the
    process's JSON logs."""
    async with DiscordSimulator() as sim, LyzrServer() as lyzr:
        port = free_port()
        env = {**_bot_env(port, redis_url, lyzr), **discord_env(sim), **extra_env}
        async with bot_process("discord", env, port) as process:
            await sim.wait_for_session(within=30)
            await sim.wait_until(lambda: len(sim.commands()) == 4)  # new, stop, help, status
            lyzr.enqueue(LyzrScript(tokens=split_words("never ending " * 400), delay=0.05))
            start = await sim.user_message(sim.channel("general").id, "go on", mention_bot=True)
            await sim.wait_until(lambda: bool(sim.posts(start.id)))
            logs = await _terminate(process)
    return sim, start, logs


def _assert_interrupted_in_logs(logs: str, secret: str) -> None:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert any("interrupting 1" in line["msg"] for line in lines)
    assert secret not in logs


async def _lock_released(redis_url: str, where: ThreadRef, user: str) -> None:
    keys = SessionKeys(conversation_key(where, user=user, is_dm=False))
    client: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        assert await client.exists(keys.lock) == 0
        assert await client.exists(keys.session) == 1  # the conversation itself was kept
    finally:
        await client.aclose()


async def test_sigterm_interrupts_a_streaming_reply_cleanly(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str
) -> None:
    port = free_port()
    env = {**_bot_env(port, redis_url, lyzr), **slack_env(sim)}
    async with bot_process("slack", env, port) as process:
        sim.events_url = f"http://127.0.0.1:{port}/slack/events"
        ws = sim.workspace
        lyzr.enqueue(reply_script("never ending " * 400, delay=0.05))
        turn = await sim.user_says(ws.general, ws.alice, mention(sim, "go on"))
        await sim.wait_for(lambda: bool(sim.bot_replies(ws.general, turn.thread_ts)))
        logs = await _terminate(process)
    (reply,) = sim.bot_replies(ws.general, turn.thread_ts)
    assert reply.text.startswith("never ending")
    assert reply.text.endswith(INTERRUPTED.removeprefix("⚠️ ")), reply.text[-200:]
    assert "▍" not in reply.text and find_action(reply.blocks, STOP_ACTION_ID) is None
    await _lock_released(
        redis_url, ThreadRef("slack", ws.team_id, ws.general, turn.thread_ts), ws.alice
    )
    _assert_interrupted_in_logs(logs, sim.workspace.bot_token)


async def test_sigterm_on_a_real_discord_process(redis_url: str) -> None:
    sim, start, logs = await sigterm_during_a_discord_reply(redis_url)
    (reply,) = sim.posts(start.id)  # the thread opened on the mention
    assert reply.content.startswith("never ending")
    assert reply.content.endswith(INTERRUPTED), reply.content[-200:]
    assert "▍" not in reply.content and reply.components == []
    thread = str(start.id)
    await _lock_released(
        redis_url, ThreadRef("discord", str(sim.guild_id), thread, thread), str(start.author.id)
    )
    _assert_interrupted_in_logs(logs, sim.token)
