"""Uploads stream from disk (issue 18, item 8): ten 8 MiB artifacts go through the real
relay and the real Slack and Discord surfaces, against the simulators, while the bot's
peak traced memory stays below the size of one of them — a tenth of the files' total.

The bot runs in a process of its own (:mod:`tests.adapters.upload_probe`), so what is
measured is its memory only; the simulators and the file server run here.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from bots.simulators.discord import DiscordSimulator
from bots.simulators.slack import SlackSimulator
from tests import forked
from tests.web import serving

MIB = 1024 * 1024
# Above the 1 MiB a download may keep in memory (core.download.SPOOL_IN_MEMORY) with room:
# streamed, the peak is ~3.3 MiB whatever the size; read whole (a BytesIO spool), 87 MiB.
SIZE = 8 * MIB
COUNT = 10


def block(name: str) -> bytes:
    """One MiB of a file's content: distinct per file, so a mix-up would show."""
    return hashlib.sha256(name.encode()).digest() * (MIB // 32)


def digest(name: str) -> str:
    return hashlib.sha256(block(name) * (SIZE // MIB)).hexdigest()


@pytest.fixture
async def files() -> AsyncIterator[list[str]]:
    """A server of ``COUNT`` files of ``SIZE`` bytes, generated as they are sent."""

    async def serve(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        response = web.StreamResponse(headers={"Content-Length": str(SIZE)})
        await response.prepare(request)
        for _ in range(SIZE // MIB):
            await response.write(block(name))
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    async with serving(app) as url:
        yield [f"{url}/files/artifact-{n}.bin" for n in range(COUNT)]


async def run_probe(job: dict[str, Any]) -> dict[str, Any]:
    # Forked from the worker's fork server (tests/forked.py), which imported the bot stack
    # already: the probe skips ~1 s of imports.
    process = await forked.start(
        sys.executable, "-m", "tests.adapters.upload_probe", json.dumps(job),
        env=os.environ, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(300):
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-3000:]
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def assert_streamed(result: dict[str, Any], names: list[str]) -> None:
    assert result["failed"] == [] and result["uploaded"] == names
    print(f"peak traced memory {result['peak'] / MIB:.1f} MiB for {COUNT} x {SIZE // MIB} MiB")
    assert result["peak"] < SIZE, f"peak {result['peak'] / MIB:.1f} MiB"


async def test_ten_8_mib_files_reach_slack_without_being_held_in_memory(
    files: list[str],
) -> None:
    async with SlackSimulator() as sim:
        ws = sim.workspace
        asked = sim.user_message(ws.general, ws.alice, "files please")
        job = {
            "platform": "slack", "token": ws.bot_token, "api_url": sim.api_url,
            "team": ws.team_id, "channel": asked.channel, "thread": asked.ts, "files": files,
        }  # fmt: skip
        result = await run_probe(job)
        names = [url.rsplit("/", 1)[-1] for url in files]
        assert_streamed(result, names)
        (shared,) = [m for m in sim.bot_replies(asked.channel, asked.ts) if m.files]
        received = {f.filename: hashlib.sha256(f.data or b"").hexdigest() for f in shared.files}
        assert received == {name: digest(name) for name in names}


async def test_ten_8_mib_files_reach_discord_without_being_held_in_memory(
    files: list[str],
) -> None:
    # The probe's server is boosted (tier 2: a 50 MiB upload limit for all the files of a
    # message together), so the files go in two messages (6 and 4); the request body around
    # them is a little more than its files. A wider bucket: memory is what is measured here,
    # pacing is tested elsewhere (tests/bots/discord/test_buckets.py).
    async with DiscordSimulator(
        max_file_size=50 * MIB, max_request_size=51 * MIB, channel_limit=50
    ) as sim:
        general = sim.channel("general")
        job = {
            "platform": "discord", "token": sim.token, "api_base": sim.api_base,
            "gateway_url": sim.gateway_url, "guild": sim.guild_id, "channel": general.id,
            "files": files,
        }  # fmt: skip
        result = await run_probe(job)
        names = [url.rsplit("/", 1)[-1] for url in files]
        assert_streamed(result, names)
        attached = [a for m in sim.channel_messages(general.id) for a in m.attachments]
        received = {a.filename: hashlib.sha256(a.data).hexdigest() for a in attached}
        assert received == {name: digest(name) for name in names}
