"""The container image, built once per test run with podman (see ``podman.py``), in a
store that every xdist worker shares (``store.py``), so the container tests spread over
the workers.

Skipped, with the reason, only where podman is not installed; where it is, a missing
companion tool (runc, mmdebstrap...) fails the tests instead of skipping them silently.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.bots.slack.conftest import lyzr, sim
from tests.deploy.manifests import DEPLOY, REPO
from tests.deploy.podman import Podman, missing_tools, python_base_image
from tests.deploy.store import once, open_store
from tests.redis_server import RedisProcess

__all__ = ["BASE_IMAGE", "IMAGE", "image", "lyzr", "podman", "sim", "tcp_redis"]

IMAGE = "localhost/threadcast:0.1.0"  # what compose.yml and deploy/k8s name (threadcast:0.1.0)
BASE_IMAGE = "localhost/threadcast-test-python:3.11"


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
    """deploy/Dockerfile built, unchanged, on the local stand-in for python:3.11-slim."""

    def build() -> None:
        python_base_image(podman, BASE_IMAGE)
        podman.build(DEPLOY / "Dockerfile", REPO, IMAGE, {"PYTHON_IMAGE": BASE_IMAGE})

    once(podman, IMAGE, build)
    return IMAGE


@pytest.fixture(scope="session")
def tcp_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis on a loopback port, which containers on the host network reach."""
    with RedisProcess(tmp_path_factory.mktemp("tcp-redis")) as server:
        yield f"redis://{server.address}/0"
