"""Benchmark of the edit scheduler alone, in real time: N simulated replies under one budget.

    uv run python tests/bench/bench_scheduler.py [--duration 30] [--n 10 --n 50 ...]
                                                  [--variant plain|429|both]

Each reply streams 20 chunks/s for ``--duration`` seconds (chunks are timestamps, not text:
this measures the scheduler, not rendering). A reply edits its message at most once per
second (the per-message interval), after its previous edit completed (20 ms latency), and
asks the one process-wide :class:`EditScheduler` first; every reply draws on the bot-wide
budget B = 50/s (Discord's global limit) and on its own thread's channel budget (5 per 5 s).
The ``429`` variant's platform refuses (Retry-After 1 s) any edit beyond 30 in the last
second, while the scheduler's ceiling stays 50/s: the AIMD adaptation has to find the wall.

Figures printed per N, against the targets of issue 2 item 8:
- edits/s vs budget, and the most edits the platform saw in any 1 s window;
- p99 staleness (chunk arrival -> an edit containing it completed) vs 1.25 x max(1, N/B) + 0.1;
- fairness: edits of the most-edited reply / the least-edited;
- first visible text p99 vs N/B + 0.2 s;
- 429 share of edits (429 variant), overall and after the first 10 s of adaptation.
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field

from core.errors import RateLimited
from core.relay.scheduler import EditScheduler
from core.surface import BudgetScope

BUDGET = 50.0
INTERVAL = 1.0
LATENCY = 0.02
CHUNKS_PER_S = 20.0
WALL = 30  # the 429 variant's real platform limit, edits per second
RETRY_AFTER = 1.0
ADAPTATION = 10.0  # the 429 variant's share is also shown from this many seconds on


@dataclass
class Platform:
    """A recording platform: 20 ms per edit; optionally 429 above ``wall`` per second."""

    wall: int | None = None
    starts: list[float] = field(default_factory=list)
    refused: list[float] = field(default_factory=list)
    _window: deque[float] = field(default_factory=deque)

    async def edit(self) -> None:
        now = asyncio.get_running_loop().time()
        if self.wall is not None:
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.wall:
                self.refused.append(now)
                await asyncio.sleep(LATENCY)
                raise RateLimited(RETRY_AFTER, scope="discord:bot")
            self._window.append(now)
        self.starts.append(now)
        await asyncio.sleep(LATENCY)


@dataclass
class Figures:
    staleness: list[float] = field(default_factory=list)
    first_text: list[float] = field(default_factory=list)
    edits: list[int] = field(default_factory=list)
    complete: int = 0


async def reply(
    index: int,
    scheduler: EditScheduler,
    platform: Platform,
    figures: Figures,
    t0: float,
    duration: float,
) -> None:
    loop = asyncio.get_running_loop()
    scopes = [
        BudgetScope("discord:bot", rate=BUDGET),
        BudgetScope(f"discord:channel:{index}", rate=1.0, burst=5),
    ]
    total = int(duration * CHUNKS_PER_S)  # chunk k arrives at t0 + k / CHUNKS_PER_S

    def arrived(at: float) -> int:
        return min(total, math.floor((at - t0) * CHUNKS_PER_S) + 1)

    shown, edits, not_before = 0, 0, t0
    while shown < total:
        await asyncio.sleep(max(0.0, not_before - loop.time()))
        final = arrived(loop.time()) == total
        since = t0 + shown / CHUNKS_PER_S  # the oldest text not yet shown
        await scheduler.acquire(scopes, urgent=edits == 0 or final, since=since)
        start = loop.time()
        covered = arrived(start)  # coalesce everything that arrived while waiting
        try:
            await platform.edit()
        except RateLimited as error:
            scheduler.rate_limited(scopes, error)
            continue  # same text again; the scheduler holds it for Retry-After
        done = loop.time()
        scheduler.succeeded(scopes)
        figures.staleness.extend(done - (t0 + k / CHUNKS_PER_S) for k in range(shown, covered))
        if edits == 0:
            figures.first_text.append(done - t0)
        shown, edits = covered, edits + 1
        not_before = max(start + INTERVAL, done)
    figures.edits.append(edits)
    figures.complete += 1


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def max_in_window(times: list[float], width: float = 1.0) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - width:
            start += 1
        best = max(best, end - start + 1)
    return best


async def run(n: int, duration: float, wall: int | None) -> None:
    scheduler = EditScheduler()
    platform = Platform(wall=wall)
    figures = Figures()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    t0 = asyncio.get_running_loop().time()
    await asyncio.gather(*(reply(i, scheduler, platform, figures, t0, duration) for i in range(n)))
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - wall0
    starts = sorted(platform.starts)
    # the budget is judged while the replies stream (the drain of final edits is shorter)
    streaming = [t for t in starts if t < t0 + duration]
    rate = len(streaming) / duration
    demand = n / INTERVAL  # each reply wants one edit per interval
    cap = float(wall) if wall is not None else BUDGET
    used = f"{rate / min(cap, demand):5.1%} of min(platform limit, demand)"
    stale_target = 1.25 * max(INTERVAL, n / BUDGET) + 0.1
    first_target = n / BUDGET + 0.2
    title = f"N={n:<5d}" + (f" 429 above {wall}/s" if wall else "")
    print(f"{title}  ({elapsed:.1f} s real, {cpu:.1f} s CPU)")
    print(f"  edits/s while streaming  {rate:6.1f} / budget {BUDGET:g}  ({used})")
    print(f"  max edits in any 1 s     {max_in_window(starts):6d}   (budget {BUDGET:g} + burst 1)")
    print(f"  p99 staleness            {p99(figures.staleness):6.2f} s (target {stale_target:.2f})")
    fairness = max(figures.edits) / max(1, min(figures.edits))
    print(f"  fairness most/least      {fairness:6.2f}   (target 1.50)")
    first = p99(figures.first_text)
    print(f"  first text p99           {first:6.2f} s (target {first_target:.2f})")
    print(f"  replies complete         {figures.complete:6d} / {n}")
    if wall is not None:
        print(f"  429s                     {share_429(platform, t0):>6s} of edits")
        settled = t0 + ADAPTATION
        print(f"  429s after {ADAPTATION:g} s          {share_429(platform, settled):>6s} of edits")


def share_429(platform: Platform, since: float) -> str:
    refused = sum(1 for t in platform.refused if t >= since)
    attempts = refused + sum(1 for t in platform.starts if t >= since)
    return f"{refused / attempts:.2%}" if attempts else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each reply streams")
    parser.add_argument("--n", type=int, action="append", help="replies (repeatable)")
    parser.add_argument("--variant", choices=["plain", "429", "both"], default="both")
    args = parser.parse_args()
    for n in args.n or [10, 50, 200, 1000]:
        if args.variant in ("plain", "both"):
            asyncio.run(run(n, args.duration, None))
        if args.variant in ("429", "both"):
            asyncio.run(run(n, args.duration, WALL))


if __name__ == "__main__":
    main()
