"""The bot's side of the upload-memory test, run in a process of its own so that its peak
traced memory is the bot's alone (the simulators and the file server stay in the test).

``python -m tests.adapters.upload_probe '<json>'``: downloads every URL of ``files`` as the
agent's artifacts and uploads them with the real surface (``platform`` "slack" or
"discord") through the real relay; prints ``{"peak": bytes, "uploaded": [...],
"failed": [...]}`` as one JSON line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import tracemalloc
from collections.abc import AsyncIterator
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import DiscordBudget, DiscordSurface, place
from adapters.slack.client import SlackClients
from adapters.slack.config import SurfaceConfig
from adapters.slack.surface import SlackSurface
from core.models import AgentStream, Artifact
from core.netguard import guarded_client
from core.relay import Relay
from core.relay.outcome import ReplyOutcome
from core.relay.scheduler import EditScheduler
from core.surface import ChatSurface
from core.turn import ThreadRef

MIB = 1024 * 1024


async def _reply(files: list[str]) -> AsyncIterator[AgentStream]:
    artifacts = [Artifact(name=url.rsplit("/", 1)[-1], url=url) for url in files]
    yield AgentStream(content="Your files.")
    yield AgentStream(done=True, artifact_files=artifacts)


async def _deliver(surface: ChatSurface, where: ThreadRef, files: list[str]) -> ReplyOutcome:
    async with guarded_client("127.0.0.1", timeout=60.0) as http:
        relay = Relay(surface, EditScheduler(), artifact_max_bytes=64 * MIB, http_client=http)
        return await relay.deliver(where, _reply(files))


@contextlib.asynccontextmanager
async def _slack(job: dict[str, Any]) -> AsyncIterator[tuple[ChatSurface, ThreadRef]]:
    async with SlackClients(job["token"], api_url=job["api_url"]) as clients:
        surface = SlackSurface(clients.api, SurfaceConfig())
        try:
            yield surface, ThreadRef("slack", job["team"], job["channel"], job["thread"])
        finally:
            await surface.aclose()


@contextlib.asynccontextmanager
async def _discord(job: dict[str, Any]) -> AsyncIterator[tuple[ChatSurface, ThreadRef]]:
    Route.BASE = job["api_base"]
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(job["gateway_url"])
    client = discord.Client(intents=discord.Intents.default(), guild_ready_timeout=0.05)
    await client.login(job["token"])
    connection = asyncio.create_task(client.connect())
    try:
        await asyncio.wait_for(client.wait_until_ready(), 30.0)
        guild = client.get_guild(job["guild"])
        assert guild is not None
        guild.premium_tier = 2  # a boosted server takes 50 MiB files (no boosts simulated)
        surface = DiscordSurface(client, budget=DiscordBudget(EditScheduler()))
        try:
            yield surface, place("channel", job["channel"], job["guild"])
        finally:
            await surface.aclose()
    finally:
        await client.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(connection, 5.0)


async def main(job: dict[str, Any]) -> dict[str, Any]:
    opened = _slack(job) if job["platform"] == "slack" else _discord(job)
    async with opened as (surface, where):
        tracemalloc.start()
        outcome = await _deliver(surface, where, job["files"])
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    failed = [f"{f.name}: {f.reason}" for f in outcome.artifacts_failed]
    return {"peak": peak, "uploaded": outcome.artifacts_uploaded, "failed": failed}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1])))))
