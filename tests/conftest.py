"""Shared fixtures: a real Redis server for the whole test session.

With ``REDIS_URL`` set the tests use that server; otherwise they start the embedded
``redis-server`` (the same one ``threadcast`` runs by default) in a temporary directory.
Tests isolate themselves by key namespace (the ``namespace`` fixture), never by flushing,
so pointing ``REDIS_URL`` at a shared server is safe.

The suite runs in parallel (pytest-xdist, ``-n`` in pyproject's ``addopts``): each worker is
a test session of its own, so it starts its own Redis. Each module whose fixtures are
module-scoped (the browser, a Redis cluster, manifests) runs on one worker, in one
``xdist_group`` (``--dist loadgroup``), so they are set up once. The podman store is the
run's, shared by the workers (``tests/deploy/store.py``): the controller names it, hands it
to its workers and empties it at the end; the container tests are spread through the run,
their images built ahead while the other tests run (``tests/deploy/images.py``).
"""

from __future__ import annotations

import os
import shlex
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from bots.cli import without_httpx_cli
from tests import forked, worker_preload
from tests.deploy.images import build_ahead, needs_an_image, wait_for_builds
from tests.deploy.store import name_store, remove_store, share_store
from tests.redis_server import start_test_redis
from tests.servers.lyzr_server import LyzrServer

# The suite starts some two hundred Python processes (its workers, bots, CLIs); with
# PYTHONDONTWRITEBYTECODE set (as in this project's sandboxes) each would compile every
# module it imports afresh, ~0.7 s of CPU for a bot. So the tests write and reuse bytecode
# (__pycache__ is git-ignored); the workers and every subprocess inherit this environment.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False
# Each worker imports httpx (with the test modules) but never its command-line tool.
without_httpx_cli()


_FORK_SERVER = "threadcast_fork_server"
_LAUNCHER = Path(__file__).with_name("worker_launcher.py")


def pytest_configure(config: pytest.Config) -> None:
    name_store(config)
    # One fork server for the whole run (tests/forked.py), started when a test first asks:
    # each worker starting its own cost ~1 s of CPU apiece for the same imports.
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        forked.serve()
        _fork_workers(config)
    else:
        forked.use(workerinput[_FORK_SERVER])


def _fork_workers(config: pytest.Config) -> None:
    """xdist's workers forked from a server that imported pytest, its plugins and the
    project once (tests/worker_launcher.py), rather than each importing them afresh."""
    tx = getattr(config.option, "tx", None)
    if not tx or config.getoption("dist", "no") == "no":
        return  # -n 0, -p no:xdist
    python = shlex.join([sys.executable, "-S", str(_LAUNCHER), forked.serve_workers()])
    if "//" not in python:  # (which an execnet spec's value cannot hold)
        config.option.tx = [f"popen//python={python}" if s == "popen" else s for s in tx]


def pytest_unconfigure(config: pytest.Config) -> None:
    forked.stop()


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: absent with -p no:xdist
def pytest_configure_node(node: Any) -> None:
    share_store(node.config, node.workerinput)
    node.workerinput[_FORK_SERVER] = forked.serve()


def pytest_collection(session: pytest.Session) -> None:
    # In a worker forked from the workers' fork server: the warnings its imports raised,
    # raised again in the collection's warning capture, where a fresh worker raises them.
    worker_preload.reraise_warnings()


def pytest_sessionfinish(session: pytest.Session) -> None:
    wait_for_builds()
    remove_store(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # First, so that xdist's own hook (which reads the groups) sees them.
    for item in items:
        group = _group(item)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    # The longest tests first (stable: the same order in every worker). xdist hands out
    # tests in this order, so a long test placed late starts late and ends the run alone
    # (the flood test, 80 s, started 64 s in and ended 22 s after every other worker).
    items.sort(key=_rank)
    # The container tests spread evenly through the run, their images built ahead
    # (build_ahead) meanwhile. They mostly wait on podman: placed last, they ran for the
    # suite's last ~12 s with most workers idle, and side by side halfway, they left the
    # cores a third idle for ~15 s. One at a time among the rest, each holds one worker
    # (waiting for its image too, if the build has not finished), whose CPU the others use.
    others = [item for item in items if not needs_an_image(item)]
    containers = [item for item in items if needs_an_image(item)]
    spread, start = [], 0
    for k, item in enumerate(containers, 1):
        end = len(others) * k // (len(containers) + 1)
        spread += [*others[start:end], item]
        start = end
    items[:] = [*spread, *others[start:]]
    build_ahead(config, items)


def _rank(item: pytest.Item) -> int:
    """Where ``item``'s module is in ``_LONGEST``; after them all if it is not there."""
    module = item.nodeid.split("::", 1)[0]
    return _LONGEST.index(module) if module in _LONGEST else len(_LONGEST)


# The modules whose tests take longest (tests/cpu_usage.py's figures: tens of seconds each
# while the suite runs, against a few for most), started first, longest first.
_LONGEST = (
    "tests/bots/slack/test_flood.py",
    "tests/adapters/test_upload_memory.py",
    "tests/adapters/console/test_views.py",
    "tests/bots/console/test_shared_redis.py",
    "tests/bots/console/test_terminal.py",
    "tests/playground/test_browser.py",
    "tests/playground/test_browser_agent.py",
    "tests/ops/test_recovery_e2e.py",
)


def _group(item: pytest.Item) -> str | None:
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
