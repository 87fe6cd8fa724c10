"""Shared fixtures: a real Redis server for the whole test session.

With ``REDIS_URL`` set the tests use that server; otherwise they start the embedded
``redis-server`` (the same one ``threadcast`` runs by default) in a temporary directory.
Tests isolate themselves by key namespace (the ``namespace`` fixture), never by flushing,
so pointing ``REDIS_URL`` at a shared server is safe.

The suite runs in parallel (pytest-xdist, ``-n`` in pyproject's ``addopts``): each worker is
a test session of its own, so it starts its own Redis. Tests that share something costly or
global run on one worker, in one ``xdist_group`` (``--dist loadgroup``): every test using
the podman store (one image build, one rootful store), and each module whose fixtures are
module-scoped (the browser, a Redis cluster, manifests), so they are set up once.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from tests.redis_server import start_test_redis
from tests.servers.lyzr_server import LyzrServer

_SHARED_GROUPS = {"podman": "podman", "image": "podman"}
"""Fixtures whose users all run on one worker, by group name."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # First, so that xdist's own hook (which reads the groups) sees them.
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def _group(item: pytest.Item) -> str | None:
    names = getattr(item, "fixturenames", ())
    for name in names:
        if name in _SHARED_GROUPS:
            return _SHARED_GROUPS[name]
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return None
    for definitions in info.name2fixturedefs.values():
        if any(d.scope == "module" for d in definitions):
            return item.nodeid.split("::", 1)[0]
    return None


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


@pytest.fixture
async def lyzr() -> AsyncIterator[LyzrServer]:
    """A scripted Lyzr agent server (:mod:`tests.servers.lyzr_server`) on loopback."""
    async with LyzrServer() as server:
        yield server
