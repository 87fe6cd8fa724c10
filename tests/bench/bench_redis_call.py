"""Benchmark: the CPU one Redis call costs this process, and how much of it is ``guarded``.

    uv run python tests/bench/bench_redis_call.py [--calls 20000] [--concurrency 50] [--rounds 5]
                                                  [--tick]

``--concurrency`` callers each run a small Lua script (:class:`core.redis.LuaScript`, as the
recovery record and the turn gate do) one call after another on one client built like the
bot's (:func:`core.sessions.connect.redis_client`), against a Redis of its own (or
``REDIS_URL``). Two ways, alternating round by round: through :func:`core.redis.guarded`
(what every call of threadcast pays), and the bare redis-py call. Figures: this process's
CPU time (utime + stime, which the machine's other load disturbs less than wall time) per
call, best and median of the rounds, and their difference, ``guarded``'s own cost. With
``--tick`` the call is no Redis call but a future resolved on the loop's next pass: what is
left is ``guarded`` alone, without the Redis server's own CPU disturbing the figure.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import core.redis
from core.redis import LuaScript
from core.sessions.connect import redis_client
from tests.bench._common import cpu_note, run_on_redis

SCRIPT = LuaScript("bench", "redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1")


async def _tick() -> int:
    """A call answered on the loop's next pass (a stand-in for a round trip)."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[int] = loop.create_future()
    loop.call_soon(answer.set_result, 1)
    return await answer


async def _round(call: Callable[[int], Awaitable[Any]], calls: int, concurrency: int) -> float:
    """µs of this process's CPU per call."""

    async def caller(who: int) -> None:
        for _ in range(calls // concurrency):
            await call(who)

    started = time.process_time()
    await asyncio.gather(*(caller(who) for who in range(concurrency)))
    return (time.process_time() - started) / (calls // concurrency * concurrency) * 1e6


async def main(url: str, args: argparse.Namespace) -> None:
    redis = redis_client(url)
    keys = [f"bench-redis-call:{who}" for who in range(args.concurrency)]

    async def guarded(who: int) -> Any:
        return await SCRIPT(redis, [keys[who]], ["field", "value"])

    async def bare(who: int) -> Any:
        return await redis.evalsha(SCRIPT.sha, 1, keys[who], "field", "value")

    if args.tick:

        async def guarded(who: int) -> Any:
            return await core.redis.guarded("tick", _tick())

        async def bare(who: int) -> Any:
            return await _tick()

    note = cpu_note()
    try:
        await guarded(0)  # loads the script and opens a connection
        figures: dict[str, list[float]] = {"guarded": [], "bare": []}
        for _ in range(args.rounds):
            for name, call in (("guarded", guarded), ("bare", bare)):
                figures[name].append(await _round(call, args.calls, args.concurrency))
        print(note)
        print(f"{args.calls} calls, {args.concurrency} callers, {args.rounds} rounds each "
              "(µs of this process's CPU per call: best / median)")  # fmt: skip
        for name, values in figures.items():
            print(f"  {name:8} {min(values):7.1f} / {statistics.median(values):7.1f}")
        best = min(figures["guarded"]) - min(figures["bare"])
        median = statistics.median(figures["guarded"]) - statistics.median(figures["bare"])
        print(f"  guarded's own cost {best:.1f} / {median:.1f} µs per call")
        await redis.delete(*keys)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tick", action="store_true", help="no Redis: guarded alone")
    arguments = parser.parse_args()
    run_on_redis(lambda url: main(url, arguments))
