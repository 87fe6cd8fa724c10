"""The kustomize-rendered Slack Deployment run by ``podman kube play``: the image with the
manifest's ConfigMap, Secrets and securityContext, answering the Slack simulator, ready,
stopping cleanly. On the host's network (``hostNetwork: true``) for loopback; one replica.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from bots.simulators.slack import SlackSimulator
from tests.deploy.containers import Container, agent_env, until_healthy, until_ready
from tests.deploy.manifests import K8S, render, yaml_module
from tests.deploy.platforms import READY, slack_mention_answered
from tests.deploy.podman import Podman
from tests.redis_server import free_port
from tests.servers.lyzr_server import LyzrServer

REPLY = "Hello from kube play."


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
        await slack_mention_answered(sim, lyzr, port, REPLY)
        assert await until_ready(port) == READY
        inspect = await asyncio.to_thread(
            podman, "inspect", "--format={{.Config.User}} {{.HostConfig.ReadonlyRootfs}}", name
        )
        assert inspect.stdout.split() == ["10001:10001", "true"], "the pod's securityContext"
        code, logs = await bot.terminate()
        assert code == 0, logs[-3000:]
    finally:
        await asyncio.to_thread(podman, "kube", "down", str(manifest), check=False)
