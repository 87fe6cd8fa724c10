"""The image run the two ways deploy/ describes, on podman: ``deploy/compose.yml`` through
podman-compose, and the kustomize-rendered Slack Deployment through ``podman kube play``.

Both on the host's network, so that the bots reach the simulators, the Lyzr server and Redis
on loopback: compose gets an override file (network_mode: host, ports and URLs), the
Deployment ``hostNetwork: true``. Everything else is the files as shipped.

podman-compose is the dev dependency from PyPI (1.6): Debian 12's 1.0.3 knows no profiles
and adds its project network even to a ``network_mode: host`` service, which podman refuses.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.bots.slack.conftest import mention, reply_script
from tests.deploy.containers import Container, agent_env, until_healthy, until_ready
from tests.deploy.manifests import DEPLOY, K8S, load_documents, render, yaml_module
from tests.deploy.podman import Podman, redis_image
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.simulators.discord import DiscordSimulator
from tests.simulators.slack import SlackSimulator

READY = (200, '{"ready": true}')
REPLY = "Hello from the orchestrated container."


@pytest.fixture(scope="module")
def redis_stand_in(podman: Podman) -> str:
    """compose.yml's ``redis:7.4-alpine``, made locally (Debian's redis-server) under that
    name, so the compose file runs as shipped (no registry is reachable here)."""
    tag = "docker.io/library/redis:7.4-alpine"
    redis_image(podman, tag)
    return tag


def _slack_env(sim: SlackSimulator) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": sim.workspace.bot_token,
        "SLACK_SIGNING_SECRET": sim.app.signing_secret,
        "SLACK_API_URL": sim.api_url,
        "SLACK_HOST": "127.0.0.1",
    }


async def _slack_mention_answered(sim: SlackSimulator, lyzr: LyzrServer, port: int) -> None:
    sim.events_url = f"http://127.0.0.1:{port}/slack/events"
    ws = sim.workspace
    lyzr.enqueue(reply_script(REPLY))
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "hi"))
    await sim.wait_for(
        lambda: any(r.text == REPLY for r in sim.bot_replies(ws.general, turn.thread_ts)),
        timeout=30,
    )


# -- compose ------------------------------------------------------------------------------


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
            **_slack_env(sim),
            "DISCORD_TOKEN": discord.token,
            "DISCORD_API_URL": discord.api_base,
            "DISCORD_GATEWAY_URL": discord.gateway_url,
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
            await _slack_mention_answered(sim, lyzr, ports["slack"])
            await discord.wait_for_session(within=60)
            lyzr.enqueue(LyzrScript(tokens=split_words(REPLY)))
            start = await discord.user_message(
                discord.channel("general").id, "hi", mention_bot=True
            )
            await discord.wait_until(
                lambda: any(m.content == REPLY for m in discord.channel_messages(start.id)),
                within=30,
            )
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


# -- kube play ----------------------------------------------------------------------------


def _slack_deployment(image: str, port: int, settings: Mapping[str, str]) -> list[dict[str, Any]]:
    """The rendered ConfigMap and Slack Deployment, made runnable on one host: one replica
    on the host's network, serving on ``port``, and the test's settings in the ConfigMap.
    Its ``ports`` go (podman maps a containerPort to the host, which host networking
    refuses); the probes, which name the port "http", are podman's health checks, not run."""
    documents = render(K8S / "app")
    (config,) = [d for d in documents if d["kind"] == "ConfigMap"]
    (deployment,) = [
        d
        for d in documents
        if d["kind"] == "Deployment" and d["metadata"]["name"] == "threadcast-slack"
    ]
    config["data"].update({**settings, "PORT": str(port), "THREADCAST_SHUTDOWN_GRACE": "2"})
    deployment["spec"]["replicas"] = 1
    pod = deployment["spec"]["template"]["spec"]
    pod["hostNetwork"] = True
    (container,) = pod["containers"]
    assert container["image"] == "threadcast:0.1.0" == image.removeprefix("localhost/")
    del container["ports"]
    return [config, deployment]


def _create_secret(podman: Podman, directory: Path, name: str, data: Mapping[str, str]) -> None:
    """A Secret the Deployment reads (envFrom / secretKeyRef). podman 4.3 stores a Secret
    document given to ``kube play`` as YAML but reads it back as JSON (and fails), so the
    secret is created directly, in the form it reads: a JSON map of base64 values."""
    path = directory / f"{name}.json"
    encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    path.write_text(json.dumps(encoded))
    podman("secret", "create", name, str(path))


@pytest.fixture
def secrets(podman: Podman) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        podman("secret", "rm", name, check=False)


async def test_kube_play_runs_the_rendered_slack_deployment(
    podman: Podman,
    image: str,
    tcp_redis: str,
    sim: SlackSimulator,
    lyzr: LyzrServer,
    tmp_path: Path,
    secrets: list[str],
) -> None:
    port = free_port()
    agent = agent_env(lyzr, tcp_redis, port)
    settings = {k: v for k, v in agent.items() if not k.startswith(("LYZR_", "REDIS_", "PORT"))}
    settings.update({"SLACK_API_URL": sim.api_url, "SLACK_HOST": "127.0.0.1"})
    for name, data in {
        "threadcast-slack": {
            "SLACK_BOT_TOKEN": sim.workspace.bot_token,
            "SLACK_SIGNING_SECRET": sim.app.signing_secret,
        },
        "threadcast-agent": {k: v for k, v in agent.items() if k.startswith("LYZR_")},
        "threadcast-redis": {"REDIS_URL": tcp_redis},
    }.items():
        _create_secret(podman, tmp_path, name, data)
        secrets.append(name)
    manifest = tmp_path / "slack.yaml"
    manifest.write_text(yaml_module().safe_dump_all(_slack_deployment(image, port, settings)))
    await asyncio.to_thread(podman, "kube", "play", str(manifest), timeout=120)
    try:
        names = await asyncio.to_thread(
            podman, "ps", "--format={{.Names}}", "--filter=label=app.kubernetes.io/component=slack"
        )
        (name,) = [n for n in names.stdout.split() if not n.endswith("-infra")]
        bot = Container(podman, name, port)
        await until_healthy(bot)
        await _slack_mention_answered(sim, lyzr, port)
        assert await until_ready(port) == READY
        inspect = await asyncio.to_thread(
            podman, "inspect", "--format={{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", name
        )
        assert inspect.stdout.split() == ["10001:10001", "true"], "the pod's securityContext"
        code, logs = await bot.terminate()
        assert code == 0, logs[-3000:]
    finally:
        await asyncio.to_thread(podman, "kube", "down", str(manifest), check=False)
