"""A real ``threadcast discord`` / ``threadcast slack`` process for the benchmarks, and what
it costs as the OS counts it: CPU time (utime + stime from ``/proc/<pid>/stat``) and resident
memory (``VmRSS`` / ``VmHWM`` from ``/proc/<pid>/status``).

``BOT_PROFILE=py-spy`` runs the process under ``py-spy record`` (a sampling profiler from
PyPI, installed by hand: ``uv pip install py-spy``); the flame data goes to the file named by
``BOT_PROFILE_OUT`` (default ``profile.txt``, py-spy's ``raw`` format: one line per stack
with its sample count), and the CPU figures are then those of the bot, not of py-spy.
``BOT_PROFILE=tasks`` counts the CPU of each event-loop callback by owner
(``tests/bench/task_cpu.py``, on asyncio's own loop) and writes the table to
``BOT_PROFILE_OUT``. The bot's loop is otherwise its default (uvloop where installed);
``THREADCAST_EVENT_LOOP=asyncio`` in this process's environment reaches the bot.

Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.processes import healthy
from tests.redis_server import free_port

__all__ = ["BotProcess"]

THREADCAST = str(Path(sys.executable).parent / "threadcast")
_TICKS = os.sysconf("SC_CLK_TCK")


class BotProcess:
    """``async with BotProcess("discord", env, log) as bot:`` waits until ``/readyz`` says
    ready (the gateway or the HTTP server is up and Redis answers)."""

    def __init__(self, command: str, env: dict[str, str], log: Path) -> None:
        self.command = command
        self.port = free_port()
        self.env = {**os.environ, "PORT": str(self.port), **env}
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self._bot_pid = 0

    @property
    def pid(self) -> int:
        """The bot's own pid (under py-spy, py-spy's child)."""
        return self._bot_pid

    async def __aenter__(self) -> Self:
        argv = [THREADCAST, self.command]
        profile = os.environ.get("BOT_PROFILE")
        if profile == "py-spy":
            out = os.environ.get("BOT_PROFILE_OUT", "profile.txt")
            spy = str(Path(sys.executable).parent / "py-spy")
            argv = [spy, "record", "--format", "raw", "--rate", "200", "-o", out, "--", *argv]
        elif profile == "tasks":
            argv = [sys.executable, "-m", "tests.bench.task_cpu", self.command]
        with self.log.open("wb") as out_file:
            self.process = await asyncio.create_subprocess_exec(
                *argv, env=self.env, stdout=out_file, stderr=asyncio.subprocess.STDOUT
            )
        await self._ready()
        self._bot_pid = self.process.pid if profile != "py-spy" else _child(self.process.pid)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        target = self._bot_pid or self.process.pid
        os.kill(target, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()

    async def _ready(self) -> None:
        assert self.process is not None
        if await healthy(f"http://127.0.0.1:{self.port}/readyz", self.process):
            return
        tail = self.log.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"threadcast {self.command} did not become ready:\n{tail}")

    def cpu_seconds(self) -> float:
        """User + system CPU the bot has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime

    def rss(self) -> int:
        return _status_bytes(self.pid, "VmRSS")

    def peak_rss(self) -> int:
        return _status_bytes(self.pid, "VmHWM")


def _status_bytes(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{name} not in /proc/{pid}/status")


def _child(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    if not children:
        raise RuntimeError(f"process {pid} has no child")
    return int(children[0])
