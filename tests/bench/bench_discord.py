"""Benchmark of the whole Discord bot against the simulator: N replies streaming at once.

    uv run python tests/bench/bench_discord.py [--duration 30] [--n 10 --n 50 --n 200]
                                               [--first-token 0.3] [--global-rate 46]
                                               [--agent openai|lyzr]

Two processes: this one runs the Discord simulator (REST + gateway, Discord's limits: 5 per
5 s per channel, 50 requests/s per token) and the agent server (tests/bench/agent_server.py,
in OpenAI's or Lyzr's wire format); the bot is the real ``threadcast discord`` process
(discord.py client, the agent's httpx client, Redis from an embedded redis-server, relay,
edit scheduler), so its CPU and memory are counted by the OS. N users mention the bot at
the same moment in one channel; each mention gets its own thread, where a reply streams for
``--duration`` seconds at 20 chunks/s (chunk ``k`` is the text ``"{k:05d} "``, so what a
message shows says which chunks are visible).

Figures per N, against the targets of issue 4:
- replies complete: every thread shows the agent's whole text (target: all);
- 429s answered by the simulator (target: 0 — nothing injects any, so each one would be
  caused by our pacing), each printed with the limit that refused it, the requests counted in
  the second before and the simulator's own longest loop stall in it (a starved simulator
  handles queued requests together, so they count as arriving at once);
- requests/s during the streaming phase, and the most in any 1 s window, against the
  50/s global limit (target: ≥ 90 % used when demand, N edits/s, exceeds it);
- p99 staleness: chunk yielded by the agent → the simulator received an edit showing it
  (target ≤ 1.25 × max(1, N/50) + 0.1 s);
- MESSAGE_CREATE → first visible text, against agent first token + thread creation
  (target: overhead ≤ 100 ms at N = 10);
- the bot process's CPU (utime + stime) from the first mention to the last complete reply,
  per reply-second (target ≤ 1 ms), and its resident memory growth per concurrent reply;
- when each agent request arrived after its mention, and how many streamed at once (every
  reply streams at once: ``AGENT_MAX_CONNECTIONS`` is set above N).
``BOT_PROFILE=py-spy`` profiles the bot (tests/bench/bot_process.py).
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import math
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bots.simulators.discord import DiscordSimulator
from bots.simulators.discord.models import Call
from bots.simulators.discord.ratelimits import Hit, Window
from tests.bench._common import cpu_note
from tests.bench.agent_server import AgentServer
from tests.bench.bot_process import BotProcess
from tests.redis_server import start_test_redis

CHUNKS_PER_S = 20.0
GLOBAL_LIMIT = 50.0
CHANNEL_RATE = 1.0  # edits/s a thread may get: Discord's 5 per 5 s per channel
_LAST_INDEX = re.compile(r"(\d{5}) *(?:▍)?\s*$")
_THREADS = "/channels/{channel_id}/messages/{message_id}/threads"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    ordered, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(ordered):
        while ordered[lo] <= t - window:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


async def run(n: int, args: argparse.Namespace, redis_url: str) -> dict[str, float]:
    chunks = int(args.duration * CHUNKS_PER_S)
    with tempfile.TemporaryDirectory() as data_dir:
        async with (
            DiscordSimulator() as sim,
            AgentServer(args.agent, chunks=chunks, first_token=args.first_token) as agent,
        ):
            env = {
                **agent.env(),
                "DISCORD_TOKEN": sim.token,
                "DISCORD_API_URL": sim.api_base,
                "DISCORD_GATEWAY_URL": sim.gateway_url,
                "DISCORD_GLOBAL_RATE": str(args.global_rate),
                "DISCORD_GLOBAL_BURST": str(args.global_burst),
                "DISCORD_SYNC_COMMANDS": "false",
                "REDIS_URL": redis_url,
                "THREADCAST_DATA_DIR": data_dir,
                "AGENT_MAX_CONNECTIONS": str(n + 10),  # every reply streams at once
            }
            log = Path(data_dir) / "bot.log"
            async with BotProcess("discord", env, log) as bot:
                return await measure(n, sim, bot, agent, args)


class RefusalLog:
    """Which limit refused each 429 (the global one or a route's bucket), noted where the
    simulator decides it (its ``RateLimiter``), with the window's start: so a 429 says whether
    our pacing sent too much or the simulator handled requests in a bunch."""

    def __init__(self, sim: DiscordSimulator) -> None:
        self.hits: list[tuple[float, str, float]] = []  # (time, limit, retry_after)
        self.lags: list[tuple[float, float]] = []  # (time, seconds the loop ran late)
        limiter = sim.state.limiter
        take_global, take = limiter.take_global, limiter.take

        def global_(token: str) -> Hit | None:
            hit = take_global(token)
            if hit is not None:
                self.hits.append((limiter.now(), "global", hit.retry_after))
            return hit

        def bucket(window: Window) -> Hit | None:
            hit = take(window)
            if hit is not None:
                self.hits.append((limiter.now(), f"bucket {window.bucket}", hit.retry_after))
            return hit

        limiter.take_global = global_  # type: ignore[method-assign]
        limiter.take = bucket  # type: ignore[method-assign]

    async def watch_lag(self) -> None:
        """Note how late this process's loop runs (the simulator's: a starved loop handles
        requests in a bunch, so they count as arriving together however the bot paced them)."""
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.05)
            late = loop.time() - before - 0.05
            if late > 0.02:
                self.lags.append((loop.time(), late))

    def lag_before(self, at: float) -> float:
        """The simulator's longest loop stall in the second before ``at``."""
        return max((late for when, late in self.lags if at - 1.0 <= when <= at), default=0.0)

    def describe(self, calls: list[Call], started: float) -> list[str]:
        """One line per 429: when, which limit, the route, and the requests that arrived in the
        second before it (the bot paces to ``--global-rate`` per second)."""
        arrived = sorted(c.time for c in calls)
        lines = []
        refused = [c for c in calls if c.status == 429]
        for (at, limit, retry), call in zip(self.hits, refused, strict=False):
            lo = bisect.bisect_left(arrived, at - 1.0)
            hi = bisect.bisect_right(arrived, at)
            lines.append(
                f"    429 at +{at - started:.2f} s: {limit}, retry after {retry:.3f} s;"
                f" {call.method} {call.route}; {hi - lo} requests arrived in the second before,"
                f" the simulator's loop stalled up to {self.lag_before(at) * 1000:.0f} ms in it"
            )
        return lines


async def measure(
    n: int, sim: DiscordSimulator, bot: BotProcess, agent: AgentServer, args: argparse.Namespace
) -> dict[str, float]:
    loop = asyncio.get_running_loop()
    refusals = RefusalLog(sim)
    lag = asyncio.create_task(refusals.watch_lag())
    general = sim.channel("general").id
    skip = len(sim.calls)  # login and start-up calls are not the benchmark
    cpu0, rss0, peak = bot.cpu_seconds(), bot.rss(), 0
    mentions: dict[str, tuple[int, float]] = {}  # agent message -> (thread id, dispatched)
    for k in range(n):
        text = f"bench {k}"
        dispatched = loop.time()
        sent = await sim.user_message(general, text, mention_bot=True, author="alice")
        mentions[text] = (sent.id, dispatched)
    started = loop.time()
    expected = agent.text().replace(" ", "")
    waiting = {thread for thread, _ in mentions.values()}
    deadline = loop.time() + args.duration * 4 + 120
    while waiting and loop.time() < deadline:
        await asyncio.sleep(0.5)
        peak = max(peak, bot.rss())
        waiting = {t for t in waiting if not _finished(sim, t, expected)}
    if waiting:  # the figures still say how far it got
        print(f"!! {len(waiting)} replies incomplete after {args.duration * 4 + 120:.0f} s")
    finished = loop.time()
    cpu = bot.cpu_seconds() - cpu0
    calls = sim.calls[skip:]

    complete = 0
    staleness: list[float] = []
    steady: list[float] = []  # chunks yielded after the reply's first visible text
    overhead: list[float] = []
    first_visible: list[float] = []
    by_thread: dict[int, list[tuple[float, str]]] = {}
    thread_made: dict[int, float] = {}
    for call in calls:
        if call.route == _THREADS and call.status == 201:
            thread_made[int(call.params["message_id"])] = call.time
        elif call.status == 200 and call.channel_id is not None and isinstance(call.json, dict):
            content = call.json.get("content")
            if isinstance(content, str):
                by_thread.setdefault(call.channel_id, []).append((call.time, content))
    for text, (thread, dispatched) in mentions.items():
        reply = agent.replies.get(text)
        if _finished(sim, thread, expected):
            complete += 1
        updates = by_thread.get(thread, [])
        if reply is None or not updates:
            continue
        first_visible.append(updates[0][0] - dispatched)
        made = thread_made.get(thread, dispatched)
        overhead.append(updates[0][0] - made - reply.first_token)
        visible = -1
        pending = 0  # chunks 0 .. pending-1 have a staleness already
        shown_from = updates[0][0]
        for when, content in updates:
            match = _LAST_INDEX.search(content)
            if match is None:
                continue
            visible = max(visible, int(match.group(1)))
            while pending <= visible and pending < len(reply.yielded):
                stale = when - reply.yielded[pending]
                staleness.append(stale)
                if reply.yielded[pending] >= shown_from:
                    steady.append(stale)
                pending += 1
    lag.cancel()
    for line in refusals.describe(calls, started):
        print(line)
    streaming = [c.time for c in calls if started + 2 <= c.time <= finished - 2]
    span = max(1e-9, (finished - 2) - (started + 2))
    rate = len(streaming) / span if streaming else math.nan
    return {
        "n": n,
        "complete": complete,
        "429s": sum(1 for c in calls if c.status == 429),
        "requests": len(calls),
        "req_per_s": rate,
        "used": rate / GLOBAL_LIMIT,
        "max_1s": max_in_window([c.time for c in calls]),
        "p50_stale": percentile(staleness, 0.50),
        "p99_stale": percentile(staleness, 0.99),
        "p50_steady": percentile(steady, 0.50),
        "p99_steady": percentile(steady, 0.99),
        "demand": n * CHANNEL_RATE,
        "stale_target": 1.25 * max(1.0, n / GLOBAL_LIMIT) + 0.1,
        "first_p50": percentile(first_visible, 0.50),
        "first_max": max(first_visible, default=math.nan),
        "overhead_p50": percentile(overhead, 0.50),
        "overhead_max": max(overhead, default=math.nan),
        "wall": finished - started,
        "cpu": cpu,
        "cpu_ms_per_reply_s": cpu * 1000 / (n * args.duration),
        "rss_kib_per_reply": (peak - rss0) / 1024 / n,
        "rss_peak_mib": peak / 2**20,
        **agent_starts(agent, mentions),
    }


def _finished(sim: DiscordSimulator, thread: int, expected: str) -> bool:
    """The thread shows the agent's whole text (no streaming indicator left)."""
    shown = "".join(m.content for m in sim.channel_messages(thread) if m.author.id == sim.bot.id)
    return shown.replace(" ", "") == expected


def agent_starts(agent: AgentServer, mentions: dict[str, tuple[int, float]]) -> dict[str, float]:
    """When each agent request arrived after its mention, and how many streamed at once."""
    replies = agent.replies
    delays = [replies[t].requested - d for t, (_, d) in mentions.items() if t in replies]
    return {
        "agent_requests": len(delays),
        "agent_start_p50": percentile(delays, 0.50),
        "agent_start_max": max(delays, default=math.nan),
        "agent_most_open": agent.most_open,
    }


def report(figures: dict[str, float], duration: float) -> None:
    n = int(figures["n"])
    demand = figures["demand"]
    lines = [
        f"N = {n} replies x {duration:g} s at {CHUNKS_PER_S:g} chunks/s "
        f"(wall {figures['wall']:.1f} s)",
        f"  replies complete      {int(figures['complete'])}/{n}",
        f"  429s                  {int(figures['429s'])} (of {int(figures['requests'])} requests)",
        f"  requests/s streaming  {figures['req_per_s']:.1f} = {figures['used']:.0%} of 50/s"
        f" (edit demand {demand:.0f}/s: N threads x their channel pace);"
        f" most in 1 s: {int(figures['max_1s'])}",
        f"  staleness p50 / p99   {figures['p50_steady']:.2f} / {figures['p99_steady']:.2f} s"
        f" once the reply shows (target p99 <= {figures['stale_target']:.2f} s);"
        f" from the first chunk: {figures['p50_stale']:.2f} / {figures['p99_stale']:.2f} s",
        f"  first text p50 / max  {figures['first_p50']:.3f} / {figures['first_max']:.3f} s"
        " after MESSAGE_CREATE",
        f"  overhead p50 / max    {figures['overhead_p50'] * 1000:.0f} / "
        f"{figures['overhead_max'] * 1000:.0f} ms beyond thread creation + agent first token"
        " (target <= 100 ms at N = 10)",
        f"  bot CPU               {figures['cpu']:.1f} s = "
        f"{figures['cpu_ms_per_reply_s']:.2f} ms per reply-second (target <= 1 ms)",
        f"  bot RSS               {figures['rss_kib_per_reply']:.0f} KiB per concurrent reply"
        f" (peak {figures['rss_peak_mib']:.0f} MiB)",
        f"  agent requests        {int(figures['agent_requests'])}/{n}, started"
        f" {figures['agent_start_p50'] * 1000:.0f} ms p50 / {figures['agent_start_max'] * 1000:.0f}"
        f" ms max after MESSAGE_CREATE; {int(figures['agent_most_open'])} streaming at once",
    ]
    print("\n".join(lines), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per reply")
    parser.add_argument("--n", type=int, action="append", help="replies at once (repeatable)")
    parser.add_argument("--first-token", type=float, default=0.3, help="agent's first token, s")
    parser.add_argument("--global-rate", type=float, default=46.0)
    parser.add_argument("--global-burst", type=float, default=3.0)
    parser.add_argument("--agent", choices=["openai", "lyzr"], default="openai",
                        help="the agent's wire format, through its real HTTP client")  # fmt: skip
    parser.add_argument("--redis-url", default=None, help="default: an embedded redis-server")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        redis_url = args.redis_url or stack.enter_context(
            start_test_redis(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        )
        print(f"agent: {args.agent}; {cpu_note()}", flush=True)
        for n in args.n or [10, 50, 200]:
            began = time.perf_counter()
            figures = asyncio.run(run(n, args, redis_url))
            report(figures, args.duration)
            print(f"  (ran {time.perf_counter() - began:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
