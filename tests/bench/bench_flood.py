"""A burst of mentions against the Slack simulator with Slack's real limits (issue 18.1).

    uv run python tests/bench/bench_flood.py [--mentions 2000 --mentions 500]
                                             [--channels 100] [--rate 100]

One process: the simulator with its default limits (chat.postMessage 1/s per channel and
300/min per workspace, chat.update 50/min), the real ``SlackService`` (bolt app, HTTP mode,
signed events) on a real ``Runtime`` (Redis from ``REDIS_URL`` or an embedded server, the
default pool, locks and heartbeats), and a scripted in-process agent that answers each
mention with its own words ("You said: … flood-N …", 12 tokens 50 ms apart, first token after
0.3 s), so the figures measure the bot under the platform's budget, not an agent server.

Each mention is a top-level message in one of ``--channels`` channels, delivered as Slack
does (its ``app_mention`` and its ``message`` event: two signed events), ``--rate`` events per
second. Printed per run: mentions answered (their own answer, final; how many with their
👍 / 👎 controls), notices by kind, mentions that got nothing, replies left streaming, event
acks (p99; later than Slack's 3 s), drain time (first event to the last turn ended, and when
the last reply's text was shown), Slack calls by method, Redis errors, peak RSS.
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator
from contextlib import AsyncExitStack

from bots.simulators.slack import SlackSimulator
from bots.simulators.slack.calls import CallRecord
from bots.slack.app import SlackService
from bots.slack.settings import SlackSettings
from core.agents.base import AgentRequest
from core.agents.reference import ReferenceCalls
from core.config import Settings
from core.models import AgentStream
from core.ops.metrics import REGISTRY
from core.runtime import Runtime
from tests.bench._common import peak_rss, rss, run_on_redis
from tests.bots.slack.flood import Flood, flood

TOKENS = 12
EVERY = 0.05
FIRST_TOKEN = 0.3


class EchoAgent(ReferenceCalls):
    """Answers every message with its own words, one token per ``EVERY`` seconds."""

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        message, session_id = request.message, request.session_id
        await asyncio.sleep(FIRST_TOKEN)
        words = f"You said: {message.strip()}".split()
        words += ["…"] * max(0, TOKENS - len(words))
        for index, word in enumerate(words):
            if index:
                await asyncio.sleep(EVERY)
            yield AgentStream(content=(" " if index else "") + word, chunk_index=index)
        yield AgentStream(done=True, session_id=session_id)

    async def aclose(self) -> None:
        return None


def _shows_text(call: CallRecord) -> bool:
    """A post or an edit of a reply's text (not the edit that only adds 👍 / 👎)."""
    if call.method == "chat.postMessage":
        return True
    return call.method == "chat.update" and "context_actions" not in str(call.params.get("blocks"))


def _ack(seconds: float) -> str:
    """An ack time; one Slack gave up on (3 s, then retried) has no time: "over 3 s"."""
    return f"{seconds * 1000:.0f} ms" if math.isfinite(seconds) else "over 3 s"


def _redis_errors() -> float:
    return REGISTRY.get_sample_value("threadcast_redis_errors_total") or 0.0


async def run(spec: Flood, redis_url: str) -> None:
    agent = EchoAgent()
    async with SlackSimulator() as sim, AsyncExitStack() as stack:
        settings = Settings(redis_url=redis_url, agent="demo", port=0, shutdown_grace=0.0)
        namespace = f"flood-{uuid.uuid4().hex[:8]}"
        runtime = await stack.enter_async_context(
            Runtime(settings, agent=agent, namespace=namespace)
        )
        ws = sim.workspace
        slack = SlackSettings(
            bot_token=ws.bot_token, api_url=sim.api_url, signing_secret=sim.app.signing_secret,
            host="127.0.0.1",
        )  # fmt: skip
        service = await stack.enter_async_context(SlackService(settings, slack, runtime=runtime))
        errors0, rss0 = _redis_errors(), rss()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        figures = await flood(sim, service, spec, drain_timeout=3600.0)
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        notices = ", ".join(f"{k} {n}" for k, n in sorted(figures.notices.items())) or "none"
        calls = sim.calls()
        refused = sum(1 for c in calls if c.status == 429)
        methods = ", ".join(f"{m} {n}" for m, n in Counter(c.method for c in calls).most_common())
        texts = [c.time for c in calls if c.ok and _shows_text(c)]
        shown = max(texts, default=figures.start) - figures.start
        print(f"{spec.mentions} mentions over {spec.channels} channels, {spec.rate:g} events/s "
              f"({wall:.0f} s real, {cpu:.0f} s CPU)")  # fmt: skip
        print(f"  answered          {figures.answered} ({figures.with_feedback} with 👍 / 👎)")
        print(f"  notices           {sum(figures.notices.values())} ({notices})")
        print(f"  nothing           {figures.nothing}")
        print(f"  left streaming    {figures.still_streaming}")
        print(f"  acks              p99 {_ack(figures.ack_p99())}, "
              f"{figures.late_acks} of {len(figures.acks)} later than 3 s, "
              f"{figures.unacked} never acknowledged")  # fmt: skip
        print(f"  drain             {figures.drain:.0f} s (last reply text shown at {shown:.0f} s)")
        print(f"  Slack calls       {len(calls)}, {refused} answered 429 ({methods})")
        print(f"  Redis errors      {_redis_errors() - errors0:.0f}")
        print(f"  RSS               {rss0 / 2**20:.0f} MB before, peak {peak_rss() / 2**20:.0f} MB",
              flush=True)  # fmt: skip


async def main_async(args: argparse.Namespace, redis_url: str) -> None:
    for mentions in args.mentions or [2000, 500]:
        await run(Flood(mentions=mentions, channels=args.channels, rate=args.rate), redis_url)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--mentions", type=int, action="append", help="repeatable")
    parser.add_argument("--channels", type=int, default=100)
    parser.add_argument("--rate", type=float, default=100.0, help="events per second")
    args = parser.parse_args()
    run_on_redis(lambda url: main_async(args, url))


if __name__ == "__main__":
    main()
