"""Shared fixtures: a real Redis server for the whole test session.

With ``REDIS_URL`` set the tests use that server; otherwise they start the embedded
``redis-server`` (the same one ``threadcast`` runs by default) in a temporary directory.
Tests isolate themselves by key namespace (the ``namespace`` fixture), never by flushing,
so pointing ``REDIS_URL`` at a shared server is safe.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.redis_server import start_test_redis


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("REDIS_URL")
    if configured:
        yield configured
        return
    data_dir: Path = tmp_path_factory.mktemp("redis")
    with start_test_redis(data_dir) as url:
        yield url


@pytest.fixture
def namespace() -> str:
    """A key prefix unique to one test."""
    return f"tc-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()
