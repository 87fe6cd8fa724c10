"""Run the bots in containers and watch them from the test's event loop.

The simulators run in the test's loop, so every podman call here runs in a thread
(``asyncio.to_thread``): a blocking call would stall the simulator the bot is talking to.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp

from tests.deploy.podman import Podman
from tests.servers.lyzr_server import LyzrServer

__all__ = [
    "LOCKED_DOWN",
    "NO_HEALTHCHECK",
    "Container",
    "agent_env",
    "bot_container",
    "http_get",
    "http_status",
    "json_logs",
    "until_healthy",
    "until_ready",
]

# How compose.yml and deploy/k8s run the bots: read-only root, no capabilities, no privilege
# escalation (podman adds a tmpfs on /tmp with --read-only), on the host's network so that
# loopback reaches the simulators.
LOCKED_DOWN = (
    "--network=host",
    "--read-only",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
)
# The health check's timer needs systemd, which is not here (podman logs an error per
# container): the bots keep the check and `podman healthcheck run` runs it on demand;
# one-off commands go without it.
NO_TIMER = "--health-interval=disable"
NO_HEALTHCHECK = "--no-healthcheck"


def agent_env(lyzr: LyzrServer, redis_url: str, port: int) -> dict[str, str]:
    """What every bot needs besides its platform: the local Lyzr server, Redis, JSON logs."""
    return {
        "PORT": str(port),
        "REDIS_URL": redis_url,
        "THREADCAST_AGENT": "lyzr",
        "LYZR_API_KEY": lyzr.api_key,
        "LYZR_AGENT_ID": "agent-under-test",
        "LYZR_API_BASE": lyzr.base_url,
        "AGENT_RETRIES": "0",
        "THREADCAST_SHUTDOWN_GRACE": "2",
        "THREADCAST_LOG_LEVEL": "INFO",
        "THREADCAST_LOG_FORMAT": "json",
    }


@dataclass
class Container:
    podman: Podman
    name: str
    port: int

    async def running(self) -> bool:
        result = await asyncio.to_thread(
            self.podman, "inspect", "--format={{.State.Running}}", self.name, check=False
        )
        return result.stdout.strip() == "true"

    async def health(self) -> str:
        """The image's HEALTHCHECK, run now: 'healthy', else podman's complaint."""
        result = await asyncio.to_thread(
            self.podman, "healthcheck", "run", self.name, check=False, timeout=30
        )
        if result.returncode == 0:
            return "healthy"
        return f"exit {result.returncode}: {result.stdout}{result.stderr}".strip()

    async def terminate(self) -> tuple[int, str]:
        """SIGTERM (``podman stop``, 30 s before SIGKILL); its exit code and logs."""
        await asyncio.to_thread(self.podman, "stop", "--time=30", self.name, timeout=60)
        code = await asyncio.to_thread(
            self.podman, "inspect", "--format={{.State.ExitCode}}", self.name
        )
        return int(code.stdout.strip()), await self.logs()

    async def logs(self) -> str:
        result = await asyncio.to_thread(self.podman, "logs", self.name, check=False)
        return result.stdout + result.stderr


@asynccontextmanager
async def bot_container(
    podman: Podman, image: str, name: str, platform: str, env: Mapping[str, str], port: int
) -> AsyncIterator[Container]:
    """``threadcast <platform>`` in a locked-down container, healthy; removed on the way out."""
    env_args = [f"--env={key}={value}" for key, value in env.items()]
    await asyncio.to_thread(
        podman, "run", "--detach", f"--name={name}", *LOCKED_DOWN, NO_TIMER, *env_args, image,
        platform,
    )  # fmt: skip
    container = Container(podman, name, port)
    try:
        await until_healthy(container)
        yield container
    finally:
        await asyncio.to_thread(podman, "rm", "--force", "--time=0", name, check=False)


async def until_healthy(container: Container) -> None:
    """Until ``/healthz`` answers 200; fails at once (with the logs) if the bot exits."""
    url = f"http://127.0.0.1:{container.port}/healthz"
    for _ in range(600):
        if await http_status(url) == 200:
            return
        if not await container.running():
            raise AssertionError(f"the bot exited during start-up:\n{await container.logs()}")
        await asyncio.sleep(0.1)
    raise AssertionError(f"the bot never answered {url}:\n{await container.logs()}")


async def until_ready(port: int, within: float = 30.0) -> tuple[int | None, str]:
    """``/readyz`` polled until it answers 200 (discord.py is ready only once the guilds
    have streamed in, which may be after it answered a first message); the last answer."""
    url = f"http://127.0.0.1:{port}/readyz"
    answer = await http_get(url)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(within):
            while answer[0] != 200:
                await asyncio.sleep(0.1)
                answer = await http_get(url)
    return answer


async def http_status(url: str) -> int | None:
    return (await http_get(url))[0]


async def http_get(url: str) -> tuple[int | None, str]:
    """The status and body of a GET (None and the error when it cannot connect)."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(url) as response,
        ):
            return response.status, await response.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return None, repr(exc)


def json_logs(logs: str) -> list[dict[str, object]]:
    """The bot's JSON log lines (anything else a container prints is skipped)."""
    return [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
