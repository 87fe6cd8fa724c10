"""The console's tests run ``threadcast`` as a user does: a real process (under a real
pseudo-terminal where a terminal matters), its own embedded Redis in a temporary data
directory, and a local Lyzr-format agent."""

from __future__ import annotations

import os
from pathlib import Path

import redis.asyncio as aioredis

from core.sessions.embedded import answers_ping
from tests.servers.lyzr_server import LyzrServer


def console_env(tmp_path: Path, server: LyzrServer | None, **extra: str) -> dict[str, str]:
    """The environment of a user who set nothing but a data directory (and the agent)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("THREADCAST_", "LYZR_", "OPENAI_", "REDIS_URL", "NO_COLOR"))
    }
    env.update(
        THREADCAST_DATA_DIR=str(tmp_path / "data"),
        THREADCAST_ARTIFACT_DIR=str(tmp_path / "files"),
    )
    if server is not None:
        env.update(
            LYZR_API_KEY=server.api_key, LYZR_AGENT_ID="agent-1", LYZR_API_BASE=server.base_url
        )
    env.update(extra)
    return env


async def embedded_server_pid(data_dir: Path) -> int:
    """The pid of the embedded redis-server serving ``data_dir``."""
    client = aioredis.from_url(f"unix://{data_dir / 'redis.sock'}")
    try:
        return int((await client.info("server"))["process_id"])
    finally:
        await client.aclose()


async def embedded_server_answers(data_dir: Path) -> bool:
    return await answers_ping(f"unix://{data_dir / 'redis.sock'}", seconds=1.0)
