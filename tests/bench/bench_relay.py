"""Benchmark of the core end to end, in real time: the real Relay and EditScheduler.

    uv run python tests/bench/bench_relay.py [--duration 30] [--n 10 --n 50 ...]
        [--part overhead|load|429|all] [--burst 1] [--memory tracemalloc|rss|none]

Figures against issue 2 item 8 (Redis round trips: ``bench_redis_trips.py``), PASS/FAIL each:

1. ``overhead``: relay CPU per chunk (time.process_time), 100,000 chunks through
   ``Relay.deliver`` into :class:`NullSurface` (calls return at once, no budget scope), minus
   the CPU of the same generator consumed by an empty loop; best of ``--repeat`` runs, as
   timeit does (other work on the machine only ever adds time). Every edit renders the
   open page, so the cost depends on how many chunks an edit carries: ``20`` (a reply at
   20 chunks/s edited once a second: the row judged against 10 µs), ``1`` (an edit per
   chunk: the worst case) and ``all`` (a burst the writer sees only at the end); and on the
   page size: 2,000 (Discord), 4,000 (Slack), 40,000 (Slack's hard limit, used by no surface:
   shows an edit's cost growing with the open page). "µs per edit" is the difference to the
   ``all`` row of the same limit divided by the extra edits.
2. ``load``: N replies at once through one Relay + EditScheduler into a RecordingSurface
   (20 ms per call, 1 s minimum interval per message, 2,000-character messages), all
   drawing on one scope of B = 50 edits/s; each reply streams 20 chunks/s for
   ``--duration`` seconds. Budget never exceeded, ≥ 90 % used, p99 staleness, fairness
   (of the updates that show new text; all updates are listed beside), final texts
   complete, first text p99, peak memory per reply.
3. ``429``: the same, the surface answering 429 (Retry-After 1 s) above 30 edits/s while
   the scheduler's ceiling stays 50/s: 429 share, overall and after 10 s; no text lost.

Each (N, variant) runs in a fresh child process, one after the other. Memory
(:class:`~tests.bench._common.MemoryProbe`): by default the peak of the Python heap under
tracemalloc, in a second identical pass (tracing slows the loop and would shift the timing
figures of the first); ``rss`` measures peak RSS growth in the one pass instead. Bookkeeping
is O(1) per chunk and allocated before the baseline: every chunk is 6 characters, so the
chunks an update shows are ``visible characters // 6``, from each message's length (no text
scanning). Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import re
import subprocess
import sys
import time
from array import array
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from pydantic import BaseModel

from adapters.console.surface import ConsoleSurface
from core.errors import RateLimited
from core.models import AgentStream
from core.relay.relay import Relay, ReplyOutcome
from core.relay.scheduler import EditScheduler
from core.surface import BudgetScope, MessageRef, OutgoingFile, SurfaceLimits, Upload
from core.turn import ThreadRef
from tests.bench._common import Histogram, MemoryProbe, Table, cpu_note
from tests.bench.bench_scheduler import (
    ADAPTATION,
    BUDGET,
    CHUNKS_PER_S,
    INTERVAL,
    LATENCY,
    RETRY_AFTER,
    WALL,
    max_in_window,
    p99,
)
from tests.surfaces import THREAD, RecordingSurface

OVERHEAD_TARGET_US = 10.0
MEMORY_TARGET = 64 * 1024
INDICATOR = " ▍"
CHUNK_LEN = 6

# --- 1. relay overhead per chunk ---------------------------------------------------------------

# One stretch of a typical reply (paragraphs, a list, a fenced code block), cut into
# word-sized tokens as models stream them; the reply repeats it up to the chunk count.
_SOURCE = """Here is how the relay paces a reply. It appends each chunk to a buffer, and only
when an edit is due does it render the page, so the cost per chunk stays small.

- first text goes out at once;
- later edits wait for the message's interval and the shared budget;
- everything that arrived meanwhile is coalesced into one edit.

```python
async def stream(reply):
    async for chunk in reply:
        buffer.append(chunk.content)
    return "".join(buffer)
```

When the text outgrows one message the page is finished at a paragraph, a line or a word,
never inside a code fence: the fence is closed and reopened on the next page.

"""


class NullSurface(ConsoleSurface):
    """A ChatSurface whose calls return at once (no await inside): only the relay costs.
    The console's rendering (none) and budgets (none) as they are; no view, no files."""

    def __init__(self, limits: SurfaceLimits) -> None:
        self.limits = limits
        self.texts: dict[str, str] = {}  # message id -> its text, to check the result
        self.updates = 0
        self._ids = itertools.count(1)

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        message_id = f"m{next(self._ids)}"
        self.texts[message_id] = text
        self.updates += 1
        return MessageRef(where, message_id)

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        self.texts[message.message_id] = text
        self.updates += 1

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        return None

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        return None

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        return None


async def _pooled(
    pool: list[AgentStream], total: int, every: int | None
) -> AsyncIterator[AgentStream]:
    """Chunks from a pool built once, so producing one costs next to nothing (and so does
    the noise of subtracting that cost); every ``every`` chunks the loop gets a turn."""
    size = len(pool)
    for k in range(total):
        yield pool[k % size]
        if every is not None and k % every == every - 1:
            await asyncio.sleep(0)  # as on a network read: the writer runs now
    yield AgentStream(done=True)


async def _generator_cpu(pool: list[AgentStream], total: int, every: int | None) -> float:
    started = time.process_time()
    async for _chunk in _pooled(pool, total, every):
        pass
    return time.process_time() - started


async def _relay_cpu(
    pool: list[AgentStream], total: int, every: int | None, limit: int
) -> tuple[float, int, bool]:
    """CPU seconds of one deliver, the posts+edits it made, and whether its text is whole."""
    limits = SurfaceLimits(max_message_chars=limit, min_edit_interval=0.0, max_file_bytes=1)
    surface = NullSurface(limits)
    relay = Relay(surface, EditScheduler())
    started = time.process_time()
    outcome = await relay.deliver(ThreadRef("bench", "W", "C", "T"), _pooled(pool, total, every))
    cpu = time.process_time() - started
    expected = "".join(pool[k % len(pool)].content for k in range(total))
    pages = surface.texts.values()
    whole = outcome.status == "completed" and outcome.text == expected
    # Pages carry reopened fences, so their sum is at least the text; none keeps the cursor.
    whole &= sum(map(len, pages)) >= len(expected) and all(len(p) <= limit for p in pages)
    whole &= not any(p.endswith(limits.streaming_indicator) for p in pages)
    return cpu, surface.updates, whole


@dataclass(frozen=True, slots=True)
class Overhead:
    """One configuration's CPU per chunk (µs), best of the runs."""

    relay: float
    generator: float
    updates: int
    whole: bool

    @property
    def per_chunk(self) -> float:
        return self.relay - self.generator


async def _overhead(total: int, every: int | None, limit: int, repeat: int) -> Overhead:
    tokens = re.findall(r"\s*\S+|\s+", _SOURCE)
    pool = [AgentStream(content=t, chunk_index=i) for i, t in enumerate(tokens)]
    generator = min([await _generator_cpu(pool, total, every) for _ in range(repeat)])
    runs = [await _relay_cpu(pool, total, every, limit) for _ in range(repeat)]
    relay = min(cpu for cpu, _, _ in runs)
    whole = all(ok for _, _, ok in runs)
    return Overhead(relay / total * 1e6, generator / total * 1e6, runs[0][1], whole)


# (message limit, chunks per edit, judged against the target). 20 chunks per edit is what a
# reply at 20 chunks/s and 1 edit/s sees; 2,000 and 4,000 are the Discord and Slack surfaces'
# limits. The others show the worst case (an edit per chunk) and how an edit's cost grows
# with the open page (40,000: Slack's hard limit, which no surface uses).
_CONFIGS: list[tuple[int, int | None, bool]] = [
    (2_000, 20, True), (2_000, None, False), (2_000, 1, False),
    (4_000, 20, True), (4_000, None, False),
    (40_000, 20, False), (40_000, None, False),
]  # fmt: skip


def run_overhead(total: int, repeat: int) -> Table:
    """Part 1: see the module docstring."""
    table = Table(
        f"1. Relay overhead per chunk: {total:,} chunks into a no-op surface, CPU time "
        f"(process_time) per chunk, best of {repeat}, generator's own cost subtracted; "
        f"target ≤ {OVERHEAD_TARGET_US:g} µs at 20 chunks per edit ({cpu_note()})"
    )
    results = {(limit, every): asyncio.run(_overhead(total, every, limit, repeat))
               for limit, every, _ in _CONFIGS}  # fmt: skip
    for limit, every, judged in _CONFIGS:
        result = results[limit, every]
        label = "all" if every is None else str(every)
        detail = (
            f"(relay {result.relay:6.2f} - generator {result.generator:4.2f}; "
            f"{result.updates:>6,} posts+edits"
        )
        burst = results.get((limit, None))
        if every is not None and burst is not None and result.updates > burst.updates:
            # What one more edit costs: the difference to the same chunks with ~no edits.
            per_edit = (
                (result.per_chunk - burst.per_chunk) * total / (result.updates - burst.updates)
            )
            detail += f", ~{per_edit:.0f} µs per edit"
        detail += f"; text {'complete' if result.whole else 'WRONG'})"
        ok = result.per_chunk <= OVERHEAD_TARGET_US and result.whole
        table.add(
            f"limit {limit:>6,}, chunks per edit {label:>3}",
            f"{result.per_chunk:6.2f} µs",
            detail,
            ok if judged else (None if result.whole else False),
        )
    return table


# --- 2 and 3. N concurrent replies under one budget --------------------------------------------


def chunk_text(k: int) -> str:
    """Chunk ``k``: always 6 characters; a line break every 10, a paragraph every 50."""
    if k % 50 == 49:
        return f"{k % 10_000:04d}\n\n"
    return f"{k % 100_000:05d}{chr(10) if k % 10 == 9 else ' '}"


class Ledger:
    """Per-reply bookkeeping, allocated up front and O(1) per chunk (amortised)."""

    def __init__(self, n: int, total: int) -> None:
        self.total = total
        self.arrivals = [array("d", bytes(8 * total)) for _ in range(n)]  # chunk -> loop time
        self.visible = array("q", bytes(8 * n))  # characters shown, over all its messages
        self.shown = array("q", bytes(8 * n))  # chunks shown so far (a prefix)
        self.updates = array("q", bytes(8 * n))  # successful posts + edits
        self.text_updates = array("q", bytes(8 * n))  # those that showed new text
        self.first = array("d", [math.nan]) * n  # first chunk arrival -> first text shown
        self.lengths: dict[str, int] = {}  # message id -> characters of the reply it shows
        self.starts = array("d")  # loop time each successful post/edit started
        self.refused = array("d")  # loop time each refused (429) post/edit started
        self.staleness = Histogram()
        self.streaming = Histogram()  # the same, for updates done while the replies stream
        self.streaming_until = math.inf

    def updated(self, reply: int, message_id: str, text: str, started: float, done: float) -> None:
        self.starts.append(started)
        self.updates[reply] += 1
        length = len(text) - len(INDICATOR) if text.endswith(INDICATOR) else len(text)
        visible = self.visible[reply] + length - self.lengths.get(message_id, 0)
        self.lengths[message_id] = length
        self.visible[reply] = visible
        arrivals = self.arrivals[reply]
        if math.isnan(self.first[reply]):
            self.first[reply] = done - arrivals[0]
        # A page being closed may show less for an instant; what was shown stays counted.
        upto = min(self.total, visible // CHUNK_LEN)
        if upto > self.shown[reply]:
            self.text_updates[reply] += 1
        streaming = done < self.streaming_until
        for k in range(self.shown[reply], upto):
            self.staleness.add(done - arrivals[k])
            if streaming:
                self.streaming.add(done - arrivals[k])
        self.shown[reply] = max(upto, self.shown[reply])


class BenchSurface(RecordingSurface):
    """The RecordingSurface, reporting each post/edit to the :class:`Ledger` as it ends."""

    def __init__(self, ledger: Ledger, **options: object) -> None:
        super().__init__(**options)  # type: ignore[arg-type]
        self.ledger = ledger

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            message = await super().post(where, text, streaming=streaming)
        except RateLimited:
            self.ledger.refused.append(started)
            raise
        self.ledger.updated(int(where.thread or 0), message.message_id, text, started, loop.time())
        return message

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            await super().edit(message, text, final=final)
        except RateLimited:
            self.ledger.refused.append(started)
            raise
        reply = int(message.where.thread or 0)
        self.ledger.updated(reply, message.message_id, text, started, loop.time())


async def _stream(arrivals: array[float], total: int, start: float) -> AsyncIterator[AgentStream]:
    """One reply: chunk ``k`` at ``start + k / 20 s``; its arrival time is noted as it goes."""
    loop = asyncio.get_running_loop()
    for k in range(total):
        delay = start + k / CHUNKS_PER_S - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        arrivals[k] = loop.time()
        yield AgentStream(content=chunk_text(k), chunk_index=k)
    yield AgentStream(done=True)


async def _warm_up(limits: SurfaceLimits) -> None:
    """One tiny reply first, so one-off costs (lazy imports, first-use caches, the event loop's
    own structures) are not counted as the replies' memory."""
    surface = RecordingSurface(limits=limits, record=False)
    arrivals = array("d", bytes(8 * 3))
    start = asyncio.get_running_loop().time()
    await Relay(surface, EditScheduler()).deliver(THREAD, _stream(arrivals, 3, start))


@dataclass(frozen=True, slots=True)
class LoadRun:
    """What one pass of N replies measured (the per-reply figures are in ``ledger``)."""

    n: int
    duration: float
    wall: int | None
    burst: float
    limit: int
    ledger: Ledger
    t0: float
    cpu: float
    real: float
    note: str
    complete: int
    text_bytes: int
    messages: int
    growth: int | None  # peak memory growth, when a probe watched this pass


async def _replies(
    n: int, duration: float, wall: int | None, burst: float, limit: int, probe: MemoryProbe | None
) -> LoadRun:
    """One pass: N replies at once through one Relay and EditScheduler, until all are done."""
    total = int(duration * CHUNKS_PER_S)
    limits = SurfaceLimits(max_message_chars=limit, min_edit_interval=INTERVAL,
                           max_file_bytes=1 << 20, streaming_indicator=INDICATOR)  # fmt: skip
    await _warm_up(limits)
    ledger = Ledger(n, total)
    scope = BudgetScope("bench:bot", rate=BUDGET, burst=burst)
    surface = BenchSurface(
        ledger, limits=limits, scopes=[scope], latency=LATENCY, record=False,
        rate_limit=(wall, RETRY_AFTER) if wall else None,
    )  # fmt: skip
    relay = Relay(surface, EditScheduler())
    wheres = [ThreadRef("bench", "W1", f"C{r}", str(r)) for r in range(n)]
    expected = "".join(chunk_text(k) for k in range(total))
    note = cpu_note()
    if probe is not None:
        probe.start()
    loop = asyncio.get_running_loop()
    cpu0, real0, t0 = time.process_time(), time.perf_counter(), loop.time()
    ledger.streaming_until = t0 + duration
    # The replies start together; their chunk clocks are spread over one 50 ms period, as
    # independent streams would be, rather than all 20,000 chunks/s landing on one tick.
    outcomes: list[ReplyOutcome] = await asyncio.gather(
        *(
            relay.deliver(wheres[r], _stream(ledger.arrivals[r], total, t0 + r / n / CHUNKS_PER_S))
            for r in range(n)
        )
    )
    cpu, real = time.process_time() - cpu0, time.perf_counter() - real0
    growth = probe.growth() if probe is not None else None
    texts: list[list[str]] = [[] for _ in range(n)]
    for message in surface.messages.values():  # in post order
        texts[int(message.where.thread or 0)].append(message.text)
    complete = sum(
        1
        for outcome, pages in zip(outcomes, texts, strict=True)
        if outcome.status == "completed" and outcome.text == expected and "".join(pages) == expected
    )
    return LoadRun(n, duration, wall, burst, limit, ledger, t0, cpu, real, note, complete,
                   len(expected), len(surface.messages), growth)  # fmt: skip


async def run_load(
    n: int, duration: float, wall: int | None, burst: float, limit: int, memory: str
) -> Table:
    """Parts 2 (``wall=None``) and 3 (the surface answers 429 above ``wall`` per second).

    With ``memory="tracemalloc"`` the memory figure comes from a second, identical pass:
    tracing every allocation slows the loop enough to shift the timing figures at N=1000
    (seen: 78 % of the budget used instead of 100 %), so the first pass runs untraced.
    """
    rss_probe = MemoryProbe("rss") if memory == "rss" else None
    timing = await _replies(n, duration, wall, burst, limit, rss_probe)
    growth, method = timing.growth, memory
    if memory == "tracemalloc":
        growth = (await _replies(n, duration, wall, burst, limit, MemoryProbe(memory))).growth
        method = "tracemalloc, second pass"
    return _figures(timing, growth, method)


def _figures(run: LoadRun, growth: int | None, method: str) -> Table:
    n, duration, wall, t0, ledger = run.n, run.duration, run.wall, run.t0, run.ledger
    variant = f"429 above B'={wall}/s (Retry-After {RETRY_AFTER:g} s)" if wall else "plain"
    table = Table(
        f"{'3' if wall else '2'}. N={n} {variant}: {duration:g} s of 20 chunks/s per reply, "
        f"B={BUDGET:g}/s burst {run.burst:g}, {run.limit:,}-char messages; "
        f"{run.real:.1f} s real, {run.cpu:.1f} s CPU ({run.cpu / run.real:.0%} of one core; "
        f"{run.note})"
    )
    # With the 429 wall the platform takes B' = wall, not B: the pace figures are shown
    # against B' for information; the targets of that variant are the 429 share and the text.
    judge = wall is None
    rate_cap = BUDGET if wall is None else float(wall)
    cap_name = "B" if wall is None else "B'"
    succeeded = sorted(ledger.starts)
    attempts = sorted([*ledger.starts, *ledger.refused])  # every request the platform saw
    rate = sum(1 for t in succeeded if t < t0 + duration) / duration
    demand = n / (INTERVAL + LATENCY)  # a reply can update once per interval + call
    wanted = min(rate_cap, demand)
    table.add("posts+edits/s while streaming", f"{rate:.1f}/s",
              f"≥ 90 % of min({cap_name}, demand {demand:.0f}/s) = {0.9 * wanted:.1f}  "
              f"[{rate / wanted:.0%}]", rate >= 0.9 * wanted if judge else None)  # fmt: skip
    most = max_in_window(attempts)
    cap = BUDGET + run.burst
    table.add("max requests in any 1 s (by start)", f"{most}",
              f"≤ B + burst = {cap:g}  (posts+edits, 429s included)", most <= cap)  # fmt: skip
    stale_target = 1.25 * max(INTERVAL, n / rate_cap) + 0.1
    stale = ledger.staleness.quantile(0.99)
    table.add("p99 staleness (arrival -> edit shown)", f"{stale:.2f} s",
              f"≤ {stale_target:.2f} s  (max {ledger.staleness.max:.2f} s)",
              stale <= stale_target if judge else None)  # fmt: skip
    table.add(
        "  of those shown while streaming",
        f"{ledger.streaming.quantile(0.99):.2f} s",
        f"(p99 of {ledger.streaming.count:,} chunks; the rest waited for final edits)",
    )
    table.add("  messages per reply", f"{run.messages / n:.2f}",
              "(a page turned where its message ends: one post now, its indicator-only "
              "edit at the end)")  # fmt: skip
    # Fairness is the share of the budget while replies compete: the updates that showed
    # new text. The indicator-only final edits owed by pages turned early come after every
    # reply's text (they rank behind it) and show nothing new; all updates are listed too.
    fairness = max(ledger.text_updates) / max(1, min(ledger.text_updates))
    table.add("fairness most/least updated", f"{fairness:.2f}",
              f"≤ 1.50  ({min(ledger.text_updates)}..{max(ledger.text_updates)} posts+edits "
              "showing new text)", fairness <= 1.5 if judge else None)  # fmt: skip
    table.add("  all posts+edits per reply", f"{min(ledger.updates)}..{max(ledger.updates)}",
              "(with the indicator-only final edits of pages turned early)")  # fmt: skip
    table.add("final texts complete", f"{run.complete}/{n}", "all", run.complete == n)
    first = p99(list(ledger.first))
    first_target = n / rate_cap + 0.2
    table.add("first visible text p99", f"{first:.2f} s", f"≤ {first_target:.2f} s",
              first <= first_target if judge else None)  # fmt: skip
    if growth is not None:
        per_reply = growth / n - run.text_bytes
        table.add("peak memory growth per reply", f"{per_reply / 1024:.1f} KiB",
                  f"≤ 64 KiB  ({method}: peak growth {growth / 2**20:.1f} MiB / N, "
                  f"minus the {run.text_bytes / 1024:.1f} KiB text)",
                  per_reply <= MEMORY_TARGET)  # fmt: skip
    if wall is not None:
        table.add("429s / attempted posts+edits, overall", _share(ledger, -math.inf))
        refused, tried = _counts(ledger, t0 + ADAPTATION)
        late = 100 * refused / tried if tried else math.nan
        table.add(f"429s / attempted, after {ADAPTATION:g} s", f"{late:.2f} %",
                  f"≤ 2 %  ({refused} of {tried})", late <= 2.0 if tried else None)  # fmt: skip
    return table


def _counts(ledger: Ledger, since: float) -> tuple[int, int]:
    refused = sum(1 for t in ledger.refused if t >= since)
    return refused, refused + sum(1 for t in ledger.starts if t >= since)


def _share(ledger: Ledger, since: float) -> str:
    refused, tried = _counts(ledger, since)
    return f"{100 * refused / tried:.2f} %" if tried else "n/a"


# --- command line ------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds each reply streams")
    parser.add_argument("--n", type=int, action="append", help="concurrent replies (repeatable)")
    parser.add_argument("--part", choices=["overhead", "load", "429", "all"], default="all")
    parser.add_argument("--burst", type=float, default=1.0, help="burst of the B scope")
    parser.add_argument("--limit", type=int, default=2000, help="message size (load, 429)")
    parser.add_argument("--chunks", type=int, default=100_000, help="chunks for the overhead")
    parser.add_argument("--repeat", type=int, default=3, help="overhead runs (best is kept)")
    parser.add_argument("--memory", choices=["tracemalloc", "rss", "none"], default="tracemalloc",
                        help="how peak memory is measured (see MemoryProbe)")  # fmt: skip
    parser.add_argument("--child", choices=["load", "429"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:  # one scenario in this fresh process
        wall = WALL if args.child == "429" else None
        table = asyncio.run(
            run_load(args.n[0], args.duration, wall, args.burst, args.limit, args.memory)
        )
        table.print()
        sys.exit(1 if table.failed else 0)
    failed = False
    if args.part in ("overhead", "all"):
        table = run_overhead(args.chunks, args.repeat)
        table.print()
        failed |= table.failed
    for variant in ("load", "429"):
        if args.part not in (variant, "all"):
            continue
        for n in args.n or [10, 50, 200, 1000]:
            print(flush=True)
            command = [sys.executable, __file__, "--child", variant, "--n", str(n),
                       "--duration", str(args.duration), "--burst", str(args.burst),
                       "--memory", args.memory, "--limit", str(args.limit)]  # fmt: skip
            failed |= subprocess.run(command, check=False).returncode != 0
    print(f"\n{'SOME FIGURES FAILED' if failed else 'all figures within their targets'}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
