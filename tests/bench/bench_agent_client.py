"""The agent clients' CPU per streamed chunk: N replies at once through the real HTTP client
(``OpenAIAgent`` or ``LyzrAgent``, httpx) against tests/bench/agent_server.py in a child
process, so this process's CPU time (``time.process_time``) is the client's alone.

    uv run python tests/bench/bench_agent_client.py [--agent openai|lyzr] [--n 200]
                                                    [--duration 10] [--loop asyncio|uvloop]
                                                    [--hold 0.5]

``--hold S`` reads each stream as the relay does when a reply's text waits for its edit
(core/agents/batching.py): unread for S seconds after each read, so several chunks come in
one read and one chunk (the relay sets 0.1-1 s when a reply's updates are, or are expected
to be, 2 s or more apart, none below). Costs are per chunk the agent sent (every character
is checked).

CPU time is far less disturbed by other work on the machine than wall time, so this is the
figure to compare before and after a change to the agent's stream parsing or transport.
Not part of the test suite (pytest does not collect tests/bench).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.agents.batching import READ_HOLD
from core.agents.lyzr import LyzrAgent
from core.agents.openai_compat import OpenAIAgent
from core.models import AgentStream

_SERVE = """
import asyncio, sys
from tests.bench.agent_server import AgentServer
async def main():
    async with AgentServer(sys.argv[1], chunks=int(sys.argv[2]), first_token=0.3) as server:
        print(server.base_url, flush=True)
        await asyncio.Event().wait()
asyncio.run(main())
"""


async def run(args: argparse.Namespace, base_url: str) -> tuple[float, int]:
    agent: OpenAIAgent | LyzrAgent
    if args.agent == "openai":
        agent = OpenAIAgent(base_url=base_url, model="bench", api_key="bench-key",
                            max_connections=args.n + 10)  # fmt: skip
    else:
        agent = LyzrAgent(api_key="bench-key", agent_id="bench", base_url=base_url,
                          max_connections=args.n + 10)  # fmt: skip
    chunks = 0

    async def one(k: int) -> None:
        nonlocal chunks
        if args.hold:
            READ_HOLD.set(lambda: args.hold)  # this task's stream only
        stream = agent.stream(f"bench {k}", session_id=f"s{k}", user_id="u")
        async for chunk in stream:
            if isinstance(chunk, AgentStream) and chunk.content:
                chunks += len(chunk.content) // 6  # "00017 ": one chunk of the agent's

    began = time.process_time()
    await asyncio.gather(*(one(k) for k in range(args.n)))
    cpu = time.process_time() - began
    await agent.aclose()
    return cpu, chunks


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--agent", choices=["openai", "lyzr"], default="openai")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--loop", choices=["asyncio", "uvloop"], default="asyncio")
    parser.add_argument("--hold", type=float, default=0.0, help="seconds unread after a read")
    args = parser.parse_args()
    total = int(args.duration * 20)
    root = str(Path(__file__).resolve().parents[2])
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE, args.agent, str(total)],
        stdout=subprocess.PIPE, text=True, cwd=root,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        factory = None
        if args.loop == "uvloop":  # the services' loop where installed (bots/event_loop.py)
            factory = importlib.import_module("uvloop").new_event_loop
        with asyncio.Runner(loop_factory=factory) as runner:
            cpu, chunks = runner.run(run(args, base_url))
    finally:
        server.terminate()
        server.wait()
    print(f"{args.agent} {args.loop} N={args.n} hold {args.hold:g} s: "
          f"{chunks}/{args.n * total} chunks, "
          f"client CPU {cpu:.2f} s = {cpu / chunks * 1e6:.1f} µs per chunk = "
          f"{cpu * 1000 / (args.n * args.duration):.2f} ms per reply-second")  # fmt: skip


if __name__ == "__main__":
    main()
