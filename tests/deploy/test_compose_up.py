"""``deploy/compose.yml`` run by podman-compose: Redis and both bots from the image,
answering the simulators, ready, stopping cleanly, locked down as the file says.

On the host's network, so that the bots reach the simulators, the Lyzr server and Redis on
loopback: an override file sets ``network_mode: host``, the ports and the Redis URL;
everything else is the file as shipped. podman-compose is the dev dependency from PyPI
(1.6): Debian 12's 1.0.3 knows no profiles and adds its project network even to a
``network_mode: host`` service, which podman refuses.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from tests.deploy.containers import Container, agent_env, until_healthy, until_ready
from tests.deploy.images import REDIS_STAND_IN, build_redis_stand_in
from tests.deploy.manifests import DEPLOY, load_documents, yaml_module
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

REPLY = "Hello from compose."


@pytest.fixture(scope="session")
def redis_stand_in(podman: Podman) -> str:
    """compose.yml's Redis image (``images.py``)."""
    build_redis_stand_in(podman)
    return REDIS_STAND_IN


def _compose_override(redis_port: int, ports: Mapping[str, int]) -> dict[str, Any]:
    """Host networking for every service: the bots' ports and Redis URL, and Redis's own
    command (the shipped one) listening on a free loopback port."""
    (shipped,) = load_documents(DEPLOY / "compose.yml")
    redis_command = [*shipped["services"]["redis"]["command"], "--bind", "127.0.0.1"]
    redis = {"network_mode": "host", "command": [*redis_command, "--port", str(redis_port)]}
    bots = {
        bot: {
            "network_mode": "host",
            "environment": {"REDIS_URL": f"redis://127.0.0.1:{redis_port}/0", "PORT": str(port)},
        }
        for bot, port in ports.items()
    }
    return {"services": {"redis": redis, **bots}}


@asynccontextmanager
async def _compose_up(
    podman: Podman, directory: Path, env: Mapping[str, str], override: dict[str, Any]
) -> AsyncIterator[list[str]]:
    """``podman-compose up -d`` of a copy of deploy/compose.yml (its ``.env`` and the
    override beside it, not in the repository); ``down`` on the way out."""
    shutil.copy(DEPLOY / "compose.yml", directory / "compose.yml")
    (directory / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (directory / "override.yml").write_text(yaml_module().safe_dump(override))
    project = f"tc{uuid.uuid4().hex[:8]}"
    command = [
        str(Path(sys.executable).with_name("podman-compose")), f"--project-name={project}",
        "--in-pod=false",  # each service its own network mode (host), as with docker compose
        f"--file={directory / 'compose.yml'}", f"--file={directory / 'override.yml'}",
        "--profile=slack", "--profile=discord",
    ]  # fmt: skip
    up = await asyncio.to_thread(podman.run, [*command, "up", "--detach"], timeout=180)
    try:
        yield [*command, up.stdout + up.stderr]
    finally:
        await asyncio.to_thread(podman.run, [*command, "down"], timeout=120, check=False)


async def test_compose_file_runs_redis_and_both_bots(
    podman: Podman,
    image: str,
    redis_stand_in: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    tmp_path: Path,
) -> None:
    ports = {"slack": free_port(), "discord": free_port()}
    async with DiscordSimulator() as discord:
        env = {
            **agent_env(lyzr, "unused", 0),
            **slack_env(sim),
            **discord_env(discord),
        }
        del env["REDIS_URL"], env["PORT"]  # compose.yml sets them (the override: loopback)
        override = _compose_override(free_port(), ports)
        async with _compose_up(podman, tmp_path, env, override) as command:
            project = command[1].partition("=")[2]
            bots = {
                bot: Container(podman, f"{project}_{bot}_1", port) for bot, port in ports.items()
            }
            for bot in bots.values():
                await until_healthy(bot)
            await slack_mention_answered(sim, lyzr, ports["slack"], REPLY)
            await discord_mention_answered(discord, lyzr, REPLY)
            for port in ports.values():
                assert await until_ready(port) == READY
            for bot in bots.values():
                code, logs = await bot.terminate()
                assert code == 0, logs[-3000:]
                inspect = await asyncio.to_thread(
                    podman, "inspect", "--format={{json .HostConfig}}", bot.name
                )
                host_config = json.loads(inspect.stdout)
                assert host_config["ReadonlyRootfs"] is True
                assert "CAP_NET_RAW" not in json.dumps(host_config.get("CapAdd") or [])
                assert "no-new-privileges" in json.dumps(host_config["SecurityOpt"])
