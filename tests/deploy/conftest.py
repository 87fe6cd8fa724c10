"""The container image, built once per test run with podman (see ``podman.py``), ahead of
the tests that use it (``images.py``), in a store that every xdist worker shares
(``store.py``), so the container tests spread over the workers.

Skipped, with the reason, only where podman is not installed; where it is, a missing
companion tool (runc, mmdebstrap...) fails the tests instead of skipping them silently.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.bots.slack.conftest import lyzr, sim
from tests.deploy.images import BASE_IMAGE, IMAGE, build_image
from tests.deploy.podman import Podman, missing_tools
from tests.deploy.store import open_store
from tests.redis_server import RedisProcess

__all__ = ["BASE_IMAGE", "IMAGE", "image", "lyzr", "podman", "sim", "tcp_redis"]


@pytest.fixture(scope="session")
def podman(request: pytest.FixtureRequest) -> Podman:
    """The run's store; emptied by the controller once every worker is done
    (``tests/conftest.py``)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed: the image is built and run where it is (.ci/run)")
    missing = missing_tools()
    assert not missing, f"podman is installed but not {missing} (apt-get install them)"
    return open_store(request.config)


@pytest.fixture(scope="session")
def image(podman: Podman) -> str:
    """deploy/Dockerfile built, unchanged, on the local stand-in for python:3.11-slim-bookworm (most
    often already built ahead: ``images.py``)."""
    build_image(podman)
    return IMAGE


@pytest.fixture(scope="session")
def tcp_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis on a loopback port, which containers on the host network reach."""
    with RedisProcess(tmp_path_factory.mktemp("tcp-redis")) as server:
        yield f"redis://{server.address}/0"
