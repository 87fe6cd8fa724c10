"""Benchmark of the whole Slack bot against the simulator, in real time.

    uv run python tests/bench/bench_slack.py [--duration 30] [--k 1 --k 10 ...]
                                             [--workspaces 10 --per-workspace 10]
                                             [--streaming edit|native|both]
                                             [--update-per-minute 50]

One process: the simulator with its default limits (chat.update 50/min, appendStream
100/min, startStream 20/min per workspace; postMessage 1/s per channel and 300/min per
workspace), one real ``SlackService`` per workspace (bolt app, HTTP mode, signed events)
sharing one ``Runtime`` (one edit scheduler, Redis from ``REDIS_URL`` or an embedded server),
and a scripted in-process agent: each reply streams ``--duration`` seconds at 20 chunks/s
(first token 0.3 s after the request), so the figures measure the bot, not an agent server.

Scenarios: K = 1, 10, 50 replies at once in one workspace (five replies per channel), and
``--workspaces`` x ``--per-workspace``. Figures, against the targets of issue 3:
- replies complete (every chunk shown, in order, once; target: all);
- 429s received, as a share of all Web API calls (target <= 2 %, none losing text);
- edits per workspace-minute while streaming (chat.update, or appendStream when native) vs
  the simulator's budget (target >= 90 % when demand, 60/min per reply, exceeds it);
- p99 staleness: chunk emitted -> first API call showing it (target <= 1.25 x max(1 s,
  K / budget per s) + 0.1 s);
- event -> first visible text vs the agent's first token + 100 ms (K = 1).
``--update-per-minute`` tells the bot a ``chat.update`` budget above the simulator's real 50
to watch the budget adapt (429s, then a lower rate).
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import re
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from bots.simulators.slack import SlackSimulator, Workspace
from bots.slack.app import SlackService
from bots.slack.settings import SlackSettings
from core.config import Settings
from core.models import AgentStream
from core.runtime import Runtime
from tests.redis_server import start_test_redis

RATE = 20.0  # chunks per second
FIRST_TOKEN = 0.3  # the agent's time to first token
PER_CHANNEL = 5  # replies per channel
BUDGET = {"edit": 50.0, "native": 100.0}  # the simulator's per-minute edit budget
_NUMBER = re.compile(r"\d{5}")
# What the bot is told the chat.update budget is (--update-per-minute); the simulator's
# real limit stays 50/min, so a higher value makes the bot find the wall through 429s.
UPDATE_PER_MINUTE = [50.0]
_SHOWING = ("chat.postMessage", "chat.update", "chat.startStream", "chat.appendStream",
            "chat.stopStream")  # fmt: skip


class BenchAgent:
    """Streams ``00000 00001 ...`` at RATE chunks/s; records when each chunk was emitted."""

    def __init__(self, duration: float) -> None:
        self.total = int(duration * RATE)
        self.emitted: dict[str, list[float]] = {}  # reply id (the user's text) -> times

    async def stream(
        self,
        message: str,
        *,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None = None,
    ) -> AsyncIterator[AgentStream]:
        loop = asyncio.get_running_loop()
        times = self.emitted.setdefault(message.strip(), [])
        start = loop.time() + FIRST_TOKEN
        for k in range(self.total):
            await asyncio.sleep(max(0.0, start + k / RATE - loop.time()))
            times.append(loop.time())
            yield AgentStream(content=f"{k:05d} ", chunk_index=k)
        yield AgentStream(done=True, session_id=session_id)

    async def aclose(self) -> None:
        return None


@dataclass
class Reply:
    rid: str
    workspace: Workspace
    channel: str
    thread: str = ""
    event_at: float = 0.0


@dataclass
class Figures:
    complete: int = 0
    staleness: list[float] = field(default_factory=list)
    first_visible: list[float] = field(default_factory=list)  # event -> first visible text
    first_token: list[float] = field(default_factory=list)  # event -> agent's first chunk
    per_minute: list[float] = field(default_factory=list)  # edits per workspace-minute
    calls: int = 0
    refused: int = 0
    refused_by: dict[str, int] = field(default_factory=dict)


async def scenario(
    workspaces: int, per_ws: int, streaming: str, duration: float, redis_url: str
) -> tuple[Figures, float, float]:
    agent = BenchAgent(duration)
    async with SlackSimulator() as sim, AsyncExitStack() as stack:
        spaces = [sim.workspace] + [sim.add_workspace() for _ in range(workspaces - 1)]
        settings = Settings(redis_url=redis_url, agent="demo", port=0, shutdown_grace=0.0)
        namespace = f"bench-{uuid.uuid4().hex[:8]}"
        runtime = await stack.enter_async_context(
            Runtime(settings, agent=agent, namespace=namespace)
        )
        services: dict[str, SlackService] = {}
        for ws in spaces:
            slack = SlackSettings(
                bot_token=ws.bot_token, api_url=sim.api_url, signing_secret=sim.app.signing_secret,
                host="127.0.0.1", streaming=streaming,
                update_per_minute=UPDATE_PER_MINUTE[0],
            )  # fmt: skip
            services[ws.team_id] = await stack.enter_async_context(
                SlackService(settings, slack, runtime=runtime)
            )
        replies: list[Reply] = []
        for ws in spaces:
            channels = [sim.add_channel(ws.team_id, f"bench-{i}").id for i in
                        range(math.ceil(per_ws / PER_CHANNEL))]  # fmt: skip
            replies += [Reply(f"r{len(replies) + i}", ws, channels[i // PER_CHANNEL])
                        for i in range(per_ws)]  # fmt: skip
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.gather(*(send(sim, services[r.workspace.team_id], r) for r in replies))
        deadline = duration * 8 + 120
        await sim.wait_for(lambda: len(agent.emitted) == len(replies), timeout=30)
        bots = [s.bot for s in services.values()]
        try:
            await sim.wait_for(lambda: not any(b.tasks for b in bots), timeout=deadline)
        except TimeoutError:
            stuck = [t for b in bots for t in b.tasks]
            print(f"!! {len(stuck)} replies still running after {deadline:.0f} s; one of them:")
            stuck[0].print_stack(limit=30)
            raise
        cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - wall0
        # Native streams whose stop was queued (Tier 2) end a few seconds after their text.
        stops = [s.surface.native.stops for s in services.values()]
        await sim.wait_for(lambda: not any(len(q) for q in stops), timeout=deadline)
        return measure(sim, replies, agent, streaming, duration), cpu, elapsed


async def send(sim: SlackSimulator, service: SlackService, reply: Reply) -> None:
    ws = reply.workspace
    message = sim.user_message(reply.channel, ws.alice, f"<@{ws.bot_user_id}> {reply.rid}")
    reply.thread = message.ts
    reply.event_at = asyncio.get_running_loop().time()
    events = [sim.envelope(e, ws.team_id) for e in sim.events_for(message)]
    await asyncio.gather(
        *(sim.deliver_http(e, url=service.events_url, retries=False) for e in events)
    )


def measure(
    sim: SlackSimulator, replies: list[Reply], agent: BenchAgent, streaming: str, duration: float
) -> Figures:
    refused = [c.method for c in sim.calls() if c.status == 429]
    figures = Figures(calls=len(sim.calls()), refused=len(refused))
    for method in refused:
        figures.refused_by[method] = figures.refused_by.get(method, 0) + 1
    threads: dict[tuple[str, str], str] = {}  # (channel, message ts) -> thread ts
    shown: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    for call in sim.calls():
        if call.method not in _SHOWING or not call.ok:
            continue
        channel = str(call.params.get("channel"))
        if call.method in ("chat.postMessage", "chat.startStream"):
            thread = str(call.params.get("thread_ts"))
            threads[(channel, str(call.response.get("ts")))] = thread
        else:
            thread = threads.get((channel, str(call.params.get("ts"))), "")
        text = str(call.params.get("markdown_text") or call.params.get("text") or "")
        numbers = _NUMBER.findall(text)
        if numbers:
            shown[(channel, thread)].append((call.time, max(map(int, numbers))))
    for reply in replies:
        emitted = agent.emitted.get(reply.rid, [])
        visible = sorted(shown[(reply.channel, reply.thread)])
        figures.complete += complete(sim, reply, agent.total)
        if emitted and visible:
            figures.first_visible.append(visible[0][0] - reply.event_at)
            figures.first_token.append(emitted[0] - reply.event_at)
        figures.staleness += staleness(emitted, visible)
    method = "chat.appendStream" if streaming == "native" else "chat.update"
    start = min(r.event_at for r in replies)
    for team in {r.workspace.team_id for r in replies}:
        edits = [c for c in sim.calls(method, team_id=team, ok=True)
                 if start <= c.time <= start + FIRST_TOKEN + duration]  # fmt: skip
        figures.per_minute.append(len(edits) / ((FIRST_TOKEN + duration) / 60))
    return figures


def staleness(emitted: list[float], visible: list[tuple[float, int]]) -> list[float]:
    out, best, index = [], -1, 0
    for k, at in enumerate(emitted):
        while best < k and index < len(visible):
            best = max(best, visible[index][1])
            index += 1
        if best < k:
            break  # never shown: counted by ``complete``
        out.append(visible[index - 1][0] - at)
    return out


def complete(sim: SlackSimulator, reply: Reply, total: int) -> bool:
    messages = sim.bot_replies(reply.channel, reply.thread, reply.workspace.team_id)
    text = " ".join(m.text for m in messages)
    streaming = any(m.streaming for m in messages) or "▍" in text
    return not streaming and [int(n) for n in _NUMBER.findall(text)] == list(range(total))


def p99(values: list[float]) -> float:
    ordered = sorted(values) or [math.nan]
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


def report(title: str, k: int, streaming: str, figures: Figures, cpu: float, wall: float) -> None:
    budget = BUDGET["native" if streaming == "native" else "edit"]
    per_s = budget / 60
    demand = k * 60.0
    target = 1.25 * max(1.0, k / per_s) + 0.1
    used = min(figures.per_minute) if figures.per_minute else 0.0
    share = figures.refused / figures.calls if figures.calls else 0.0
    n = len(figures.first_token)
    print(f"{title} [{streaming}]  ({wall:.1f} s real, {cpu:.1f} s CPU)")
    print(f"  replies complete        {figures.complete} / {n}")
    by = ", ".join(f"{m} {n}" for m, n in sorted(figures.refused_by.items()))
    print(f"  429s                    {figures.refused} of {figures.calls} calls ({share:.2%})"
          + (f": {by}" if by else ""))  # fmt: skip
    verdict = ">= 90 % needed" if demand > budget else "demand below budget"
    print(f"  edits/workspace-minute  {used:.1f} (min over workspaces) / budget {budget:g} "
          f"= {used / budget:.0%} ({verdict})")  # fmt: skip
    print(f"  p99 staleness           {p99(figures.staleness):.2f} s (target {target:.2f})")
    if k == 1 and figures.first_visible:
        first, token = figures.first_visible[0], figures.first_token[0]
        print(f"  event -> first text     {first * 1000:.0f} ms (agent's first token at "
              f"{token * 1000:.0f} ms; target {token * 1000 + 100:.0f} ms)")  # fmt: skip


async def main_async(args: argparse.Namespace, redis_url: str) -> None:
    modes = ["edit", "native"] if args.streaming == "both" else [args.streaming]
    for streaming in modes:
        for k in [k for k in args.k or [1, 10, 50] if k > 0]:
            figures, cpu, wall = await scenario(1, k, streaming, args.duration, redis_url)
            report(f"K={k} in one workspace", k, streaming, figures, cpu, wall)
        if args.workspaces:
            w, per = args.workspaces, args.per_workspace
            figures, cpu, wall = await scenario(w, per, streaming, args.duration, redis_url)
            report(f"{w} workspaces x {per}", per, streaming, figures, cpu, wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per reply")
    parser.add_argument(
        "--k", type=int, action="append", help="replies at once (repeatable; 0: none)"
    )
    parser.add_argument("--workspaces", type=int, default=10, help="0 skips that scenario")
    parser.add_argument("--per-workspace", type=int, default=10)
    parser.add_argument("--streaming", choices=["edit", "native", "both"], default="both")
    parser.add_argument(
        "--update-per-minute", type=float, default=50.0, help="SLACK_UPDATE_PER_MINUTE given"
    )
    args = parser.parse_args()
    UPDATE_PER_MINUTE[0] = args.update_per_minute
    if os.environ.get("REDIS_URL"):
        asyncio.run(main_async(args, os.environ["REDIS_URL"]))
        return
    with tempfile.TemporaryDirectory() as data, start_test_redis(Path(data)) as url:
        asyncio.run(main_async(args, url))


if __name__ == "__main__":
    main()
