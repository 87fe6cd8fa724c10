"""The processes of the scale benchmark and what they cost: bot replicas as real child
processes (``python -m bots.cli slack|discord``), the round-robin proxy in front of the Slack
replicas, and CPU / RSS read from ``/proc`` and Redis's own ``INFO``.

Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

__all__ = ["Bot", "ProcessUse", "Proxy", "RedisUse", "free_port", "process_use", "start_bot"]

_TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Bot:
    """One ``threadcast`` process: its name, health port and log file."""

    name: str
    process: asyncio.subprocess.Process
    port: int
    log: Path
    killed_at: float | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.killed_at = asyncio.get_running_loop().time()

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


async def start_bot(platform: str, name: str, env: dict[str, str], logs: Path) -> Bot:
    """``threadcast <platform>`` as a child process, returned once ``/healthz`` answers."""
    port = free_port()
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bots.cli", platform,
            env={**env, "PORT": str(port)}, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    bot = Bot(name, process, port, log)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        for _ in range(1200):
            if process.returncode is not None:
                break
            try:
                async with session.get(f"{bot.url}/healthz") as response:
                    if response.status == 200:
                        return bot
            except (aiohttp.ClientError, TimeoutError):  # not up yet, or a loaded machine
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{name} did not start:\n{log.read_text()[-3000:]}")


@dataclass
class ProcessUse:
    cpu: float  # seconds of CPU (user + system) so far
    rss: int  # bytes resident now
    peak_rss: int  # bytes, the peak so far (VmHWM)


def process_use(pid: int) -> ProcessUse | None:
    """CPU and memory of a live process (Linux ``/proc``); None once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    memory = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if "kB" in line}
    return ProcessUse(cpu, int(memory.get("VmRSS", 0)) * 1024, int(memory.get("VmHWM", 0)) * 1024)


@dataclass
class RedisUse:
    """Redis's commands and CPU from :meth:`start` to a moment given to :meth:`stop`, from
    its INFO, sampled every second (``instantaneous_ops_per_sec`` too)."""

    url: str
    commands: int = 0
    cpu: float = 0.0
    ops_samples: list[int] = field(default_factory=list)
    rss: int = 0
    by_command: dict[str, int] = field(default_factory=dict)
    _samples: list[tuple[float, dict[str, int], float]] = field(default_factory=list)
    _sampler: asyncio.Task[None] | None = None

    async def _info(self) -> tuple[dict[str, int], float, int, int]:
        client: aioredis.Redis = aioredis.from_url(self.url)
        try:
            stats = await client.info("commandstats")
            cpu = await client.info("cpu")
            ops = await client.info("stats")
            memory = await client.info("memory")
        finally:
            await client.aclose()
        calls = {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}
        used = float(cpu["used_cpu_sys"]) + float(cpu["used_cpu_user"])
        return calls, used, int(ops["instantaneous_ops_per_sec"]), int(memory["used_memory_rss"])

    async def _sample_once(self) -> None:
        calls, used, ops, rss = await self._info()
        self._samples.append((asyncio.get_running_loop().time(), calls, used))
        self.ops_samples.append(ops)
        self.rss = max(self.rss, rss)

    async def start(self) -> None:
        await self._sample_once()
        self.ops_samples.clear()
        self._sampler = asyncio.create_task(self._sample())

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            try:
                await self._sample_once()
            except (OSError, aioredis.RedisError):
                continue

    async def stop(self, until: float) -> None:
        """Figures from the start to the last sample at or before ``until`` (loop time)."""
        if self._sampler is not None:
            self._sampler.cancel()
        _, before, cpu_before = self._samples[0]
        kept = [s for s in self._samples if s[0] <= until + 1.0] or self._samples
        _, calls, used = kept[-1]
        self.ops_samples = self.ops_samples[: len(kept) - 1]
        self.by_command = {k: v - before.get(k, 0) for k, v in calls.items()}
        self.by_command = {k: v for k, v in self.by_command.items() if v > 0}
        # INFO itself is counted too: leave the benchmark's own sampling out.
        self.by_command.pop("info", None)
        self.commands = sum(self.by_command.values())
        self.cpu = used - cpu_before


class Proxy:
    """A round-robin HTTP proxy, as a load balancer in front of the Slack replicas: each
    request goes to the next replica; one that refuses the connection (a killed replica)
    is skipped, as a load balancer's passive health check would."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.sent: dict[str, int] = {b: 0 for b in backends}
        # Every try: (loop time, backend, request body, status; None when the connection
        # failed and the request went to the next replica).
        self.tries: list[tuple[float, str, bytes, int | None]] = []
        self._next = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024**2)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=30),
            connector=aiohttp.TCPConnector(limit=0),
        )

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host",)}
        loop = asyncio.get_running_loop()
        for _ in range(len(self.backends)):
            backend = self.backends[self._next % len(self.backends)]
            self._next += 1
            try:
                async with self._session.request(
                    request.method, backend + request.path_qs, data=body, headers=headers
                ) as answer:
                    payload = await answer.read()
                    self.sent[backend] += 1
                    self.tries.append((loop.time(), backend, body, answer.status))
                    kept = {k: v for k, v in answer.headers.items()
                            if k.lower() not in ("content-length", "transfer-encoding",
                                                 "content-encoding", "connection")}  # fmt: skip
                    return web.Response(status=answer.status, body=payload, headers=kept)
            except aiohttp.ClientConnectionError:
                self.tries.append((loop.time(), backend, body, None))
                continue  # a dead replica: the next one
        return web.Response(status=502, text="no replica answered")
