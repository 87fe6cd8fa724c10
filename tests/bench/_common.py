"""Pieces shared by the benchmarks: a figures table with PASS/FAIL, a latency histogram,
the process's peak memory, staleness per chunk, and a Redis to run on.

Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import asyncio
import gc
import math
import os
import tempfile
import tracemalloc
from array import array
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.redis_server import start_test_redis

__all__ = [
    "Histogram",
    "MemoryProbe",
    "Table",
    "cpu_note",
    "peak_rss",
    "rss",
    "run_on_redis",
    "staleness",
]


@dataclass(slots=True)
class _Row:
    name: str
    value: str
    target: str
    ok: bool | None  # None: informational, no target


@dataclass
class Table:
    """Figures against their targets, printed as one aligned block."""

    title: str
    rows: list[_Row] = field(default_factory=list)

    def add(self, name: str, value: str, target: str = "", ok: bool | None = None) -> None:
        self.rows.append(_Row(name, value, target, ok))

    @property
    def failed(self) -> bool:
        return any(row.ok is False for row in self.rows)

    def render(self) -> str:
        width = max((len(r.name) for r in self.rows), default=0)
        value_width = max((len(r.value) for r in self.rows), default=0)
        target_width = max((len(r.target) for r in self.rows), default=0)
        lines = [self.title]
        for row in self.rows:
            verdict = {True: "PASS", False: "FAIL", None: "info"}[row.ok]
            lines.append(
                f"  {row.name:<{width}}  {row.value:>{value_width}}  "
                f"{row.target:<{target_width}}  {verdict}"
            )
        return "\n".join(lines)

    def print(self) -> None:
        print(self.render(), flush=True)


class Histogram:
    """Latencies in fixed 1 ms buckets: O(1) per sample and a fixed size, so recording
    hundreds of thousands of samples neither slows the benchmark nor grows its memory."""

    __slots__ = ("_counts", "count", "max", "resolution")

    def __init__(self, *, limit: float = 300.0, resolution: float = 0.001) -> None:
        self.resolution = resolution
        self._counts = array("q", bytes(8 * (math.ceil(limit / resolution) + 1)))
        self.count = 0
        self.max = 0.0

    def add(self, value: float) -> None:
        index = min(len(self._counts) - 1, max(0, int(value / self.resolution)))
        self._counts[index] += 1
        self.count += 1
        if value > self.max:
            self.max = value

    def quantile(self, q: float) -> float:
        """The upper edge of the bucket holding the ``q`` quantile (never an underestimate)."""
        if not self.count:
            return math.nan
        rank = math.ceil(q * self.count)
        seen = 0
        for index, count in enumerate(self._counts):
            seen += count
            if seen >= rank:
                return min(self.max, (index + 1) * self.resolution)
        return self.max


def _status_kib(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"{field_name} not in /proc/self/status")


def rss() -> int:
    """Resident set size now, in bytes (Linux)."""
    return _status_kib("VmRSS")


def peak_rss() -> int:
    """The process's peak resident set size so far (VmHWM), in bytes (Linux)."""
    return _status_kib("VmHWM")


class MemoryProbe:
    """Peak memory growth over a run, measured one of two ways:

    - ``tracemalloc``: the exact peak of the Python heap (every object the run allocated,
      interpreter and asyncio included); slows allocation, so the loop runs later;
    - ``rss``: peak resident set (VmHWM) after minus RSS before. No slowdown, but coarse: it
      counts allocator slack and whole pages, and misses heap that an earlier phase of the
      process freed and this run reused. Good as an upper bound at large N only.
    """

    def __init__(self, method: str) -> None:
        if method not in ("tracemalloc", "rss"):
            raise ValueError(f"unknown memory method {method!r}")
        self.method = method
        self.baseline = 0

    def start(self) -> None:
        gc.collect()
        if self.method == "tracemalloc":
            tracemalloc.start()
            self.baseline = tracemalloc.get_traced_memory()[0]
        else:
            self.baseline = rss()

    def growth(self) -> int:
        """Bytes the peak rose above the baseline since :meth:`start` (and stop tracing)."""
        if self.method == "tracemalloc":
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            return max(0, peak - self.baseline)
        return max(0, peak_rss() - self.baseline)


def cpu_note() -> str:
    """What else competes for the CPU: the figures are only as good as the machine is idle."""
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores, load average {load:.2f} before the run"


def staleness(emitted: list[float], visible: list[tuple[float, int]]) -> list[float]:
    """For each chunk the agent emitted (at these times), the seconds until the first call
    that showed it or a later one (``visible``: time and highest chunk shown, in order); a
    chunk never shown ends the list (the reply is counted as incomplete elsewhere)."""
    out, best, index = [], -1, 0
    for k, at in enumerate(emitted):
        while best < k and index < len(visible):
            best = max(best, visible[index][1])
            index += 1
        if best < k:
            break
        out.append(visible[index - 1][0] - at)
    return out


def run_on_redis(main: Callable[[str], Coroutine[Any, Any, None]]) -> None:
    """Run ``main(redis_url)`` on ``REDIS_URL`` when it is set, else on a Redis of its own
    (started for the run, in a temporary directory)."""
    if os.environ.get("REDIS_URL"):
        asyncio.run(main(os.environ["REDIS_URL"]))
        return
    with tempfile.TemporaryDirectory() as data, start_test_redis(Path(data)) as url:
        asyncio.run(main(url))
