"""The operations endpoints of both bots, over real HTTP: /healthz, /readyz, /metrics."""

from __future__ import annotations

import asyncio
import select
import socket
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from bots.discord.app import ops_server
from bots.simulators.slack import SlackSimulator
from bots.slack.app import SlackService
from core.ops.http import LISTEN_BACKLOG, Probes, WebServer, add_ops_routes
from core.runtime import Runtime
from core.sessions.embedded import EmbeddedRedis
from tests.bots.discord.conftest import BotWorld
from tests.bots.slack.conftest import StartBot, core_settings, slack_settings
from tests.servers.lyzr_server import LyzrServer
from tests.web import serving


async def get(url: str) -> tuple[int, Any, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.text()
        kind = response.headers.get("Content-Type", "")
        return response.status, (await response.json() if "json" in kind else body), kind


async def test_slack_serves_the_probes_in_both_modes(start_bot: StartBot) -> None:
    for mode in ("http", "socket"):
        bot = await start_bot(mode)
        assert (await get(bot.url + "/healthz"))[:2][0] == 200
        status, body, _ = await get(bot.url + "/readyz")
        assert (status, body) == (200, {"ready": True}), mode
        status, text, kind = await get(bot.url + "/metrics")
        assert status == 200 and kind.startswith("text/plain")
        assert "# TYPE threadcast_turns_started_total counter" in text
        assert "# TYPE threadcast_first_visible_seconds histogram" in text


async def test_slack_is_not_ready_without_redis(
    sim: SlackSimulator, lyzr: LyzrServer, tmp_path: Path
) -> None:
    redis = EmbeddedRedis(tmp_path)
    url = await redis.start()
    try:
        settings = core_settings(lyzr, url)
        async with (
            Runtime(settings) as runtime,
            SlackService(settings, slack_settings(sim, "http"), runtime=runtime) as bot,
        ):
            assert (await get(bot.url + "/readyz"))[0] == 200
            await redis.stop()
            status, body, _ = await get(bot.url + "/readyz")
            assert status == 503 and body["ready"] is False
            assert set(body["not_ready"]) == {"redis"}
            status, body, _ = await get(bot.url + "/healthz")
            assert status == 200 and body["ok"] is True  # the process itself is fine
            # While draining the bot is not ready and refuses events (Slack retries them).
            bot.bot.tasks.closed = True
            status, body, _ = await get(bot.url + "/readyz")
            assert status == 503 and "shutdown" in body["not_ready"]
            async with (
                aiohttp.ClientSession() as session,
                session.post(bot.events_url, data=b"{}") as response,
            ):
                assert response.status == 503
    finally:
        await redis.stop()


async def test_discord_serves_the_probes(bot_world: BotWorld) -> None:
    async with bot_world() as world:
        server = ops_server(world.runtime, world.bot, host="127.0.0.1", port=0)
        await server.start()
        try:
            status, body, _ = await get(server.url + "/healthz")
            assert status == 200 and body["connected"] is True
            assert (await get(server.url + "/readyz"))[:2] == (200, {"ready": True})
            status, text, _ = await get(server.url + "/metrics")
            assert status == 200 and "threadcast_active_streams" in text
            await world.bot.stop()  # the gateway is gone: not ready any more
            status, body, _ = await get(server.url + "/readyz")
            assert status == 503 and body["not_ready"]["platform"] == "not connected"
            assert "shutdown" in body["not_ready"]
        finally:
            await server.stop()


def _somaxconn() -> int:
    """The kernel's cap on any listen backlog."""
    return int(Path("/proc/sys/net/core/somaxconn").read_text())


async def test_a_burst_of_connections_is_held_for_the_server_not_dropped() -> None:
    """Slack delivers each event on its own connection: a burst of 300 arriving while the
    server is busy (here: not accepting at all) all complete their handshake in the kernel,
    to be accepted when the loop gets to them. aiohttp's default backlog (128) drops the
    rest's SYNs, and their clients try again only after a second or more."""
    burst = 300
    assert burst < LISTEN_BACKLOG <= _somaxconn()
    server = WebServer(web.Application(), host="127.0.0.1", port=0)
    await server.start()
    clients: list[socket.socket] = []
    try:
        for _ in range(burst):  # no await: the server's loop accepts none meanwhile
            client = socket.socket()
            client.setblocking(False)
            client.connect_ex(("127.0.0.1", server.port))
            clients.append(client)
        connected: set[socket.socket] = set()
        while len(connected) < burst:
            # Loopback handshakes complete at once; a dropped SYN is sent again after 1 s.
            waiting = [c for c in clients if c not in connected]
            _, ready, _ = select.select([], waiting, [], 0.5)
            if not ready:
                break
            connected.update(
                c for c in ready if c.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            )
        assert len(connected) == burst
    finally:
        for client in clients:
            client.close()
        await server.stop()


async def test_liveness_holds_through_a_redis_outage_and_failing_details() -> None:
    """A Redis outage, or a details callable that fails or hangs, fails readiness only:
    /healthz stays 200 (GET and HEAD), so Kubernetes takes the pod out of rotation
    instead of restarting it in a loop."""
    never = asyncio.Event()

    async def failing() -> dict[str, Any]:
        raise RuntimeError("socket client gone")

    async def hanging() -> dict[str, Any]:
        await never.wait()
        return {}

    down = aioredis.Redis(host="127.0.0.1", port=_closed_port())
    try:
        for details in (failing, hanging):
            probes = Probes(down, platform_ready=lambda: True, details=details, ping_timeout=0.2)
            application = web.Application()
            add_ops_routes(application, probes)
            async with serving(application) as url, aiohttp.ClientSession() as session:
                status, body, kind = await get(url + "/healthz")
                assert status == 200, body
                assert body["ok"] is True
                assert kind.startswith("application/json")
                assert body["details"].startswith("unavailable")
                async with session.head(url + "/healthz") as response:
                    assert response.status == 200
                status, body, _ = await get(url + "/readyz")
                assert status == 503 and "redis" in body["not_ready"]
    finally:
        await down.aclose()


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
