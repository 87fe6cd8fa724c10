"""Benchmark: Redis round trips per turn for session + dedup + lock (issue 2 item 8).

    uv run python tests/bench/bench_redis_trips.py [--turns 200] [--stream 5.0]

Uncontended turns go through :meth:`TurnGate.enter` against an embedded ``redis-server``
(:class:`EmbeddedRedis` in a temporary directory), counted two ways:

- client side: the gate's client uses a connection class that counts every
  ``send_packed_command`` (one write answered by one reply: a round trip; a pipeline would
  be one too) and every command packed into it, by name;
- server side: a MONITOR connection sees each command the server executes; commands run
  by a Lua script (client ``lua``) are counted apart, as work inside one round trip.

Scenarios, each after a warm-up (connection handshake, scripts loaded): the first turn of a
new conversation, a later turn of an existing one, a duplicate event, and a turn whose
reply streams for ``--stream`` seconds (the lock's heartbeat adds round trips while it
streams; reported per second, not per turn). Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import redis.asyncio as aioredis
from redis.asyncio.connection import UnixDomainSocketConnection

from core.sessions.embedded import EmbeddedRedis
from core.sessions.gate import TurnGate
from tests.bench._common import Table

TARGET = 3
_MARK = "bench-redis-trips-mark"


@dataclass
class Tally:
    """What the gate's client sent: round trips and commands by name."""

    trips: int = 0
    commands: Counter[str] = field(default_factory=Counter)

    def reset(self) -> None:
        self.trips = 0
        self.commands.clear()


TALLY = Tally()


class CountingConnection(UnixDomainSocketConnection):
    """A unix-socket connection that counts what it sends (see the module docstring)."""

    def pack_command(self, *args: Any) -> list[bytes]:
        name = args[0]
        TALLY.commands[(name.decode() if isinstance(name, bytes) else str(name)).upper()] += 1
        return super().pack_command(*args)

    async def send_packed_command(
        self, command: bytes | str | Iterable[bytes], check_health: bool = True
    ) -> None:
        TALLY.trips += 1
        await super().send_packed_command(command, check_health)


class ServerView:
    """MONITOR on its own connection: every command the server runs, until a mark."""

    def __init__(self, url: str) -> None:
        self._client = aioredis.from_url(url, socket_timeout=10)
        self._control = aioredis.from_url(url, socket_timeout=10)
        self._monitor: Any = None

    async def start(self) -> None:
        self._monitor = self._client.monitor()
        await self._monitor.__aenter__()  # sends MONITOR, checks +OK

    async def drain(self) -> tuple[Counter[str], Counter[str]]:
        """Commands since the last drain: (sent by clients, run inside Lua scripts)."""
        await self._control.echo(_MARK)  # the monitor's stream is in order: read up to it
        top: Counter[str] = Counter()
        inner: Counter[str] = Counter()
        while True:
            async with asyncio.timeout(10):
                info = await self._monitor.next_command()
            words = info["command"].split()
            name = words[0].upper() if words else ""
            if name == "ECHO" and _MARK in info["command"]:
                return top, inner
            (inner if info["client_type"] == "lua" else top)[name] += 1

    async def close(self) -> None:
        if self._monitor is not None:
            await self._monitor.__aexit__(None, None, None)
        await self._client.aclose()
        await self._control.aclose()


@dataclass(frozen=True, slots=True)
class Measured:
    trips: float
    commands: dict[str, float]
    server: dict[str, float]
    scripted: float


async def _measure(view: ServerView, turns: int, one: Callable[[int], Awaitable[None]]) -> Measured:
    await view.drain()
    TALLY.reset()
    for i in range(turns):
        await one(i)
    top, inner = await view.drain()
    return Measured(
        TALLY.trips / turns,
        {k: v / turns for k, v in sorted(TALLY.commands.items())},
        {k: v / turns for k, v in sorted(top.items())},
        sum(inner.values()) / turns,
    )


def _per_turn(counts: dict[str, float]) -> str:
    return ", ".join(f"{name} {count:g}" for name, count in counts.items()) or "-"


async def run(turns: int, stream: float) -> Table:
    with tempfile.TemporaryDirectory(prefix="tc-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp))
        url = await server.start()
        pool = aioredis.ConnectionPool(
            connection_class=CountingConnection, path=str(server.socket_path), socket_timeout=5
        )
        client = aioredis.Redis(connection_pool=pool)
        view = ServerView(url)
        try:
            await view.start()
            return await _scenarios(client, view, turns, stream)
        finally:
            await view.close()
            await client.aclose()
            await pool.disconnect()
            await server.stop()


async def _scenarios(client: aioredis.Redis, view: ServerView, turns: int, stream: float) -> Table:
    gate = TurnGate(client, namespace=f"bench-{uuid.uuid4().hex[:8]}")
    table = Table(
        f"4. Redis round trips per uncontended turn (TurnGate.enter: dedup + session + lock, "
        f"and release), embedded redis-server 6.2 over a unix socket, {turns} turns each; "
        f"client side = send_packed_command calls, server side = MONITOR (Lua-internal "
        f"commands apart)"
    )

    async def turn(conversation: str, event: str, body: float = 0.0) -> None:
        async with gate.enter(conversation, event) as ticket:
            if body:
                await asyncio.sleep(body)
            del ticket

    # The first use of the client connects (handshake) and loads each script (NOSCRIPT,
    # then EVAL): shown once, then excluded from the per-turn figures below.
    warm = await _measure(view, 1, lambda i: turn("bench:W:C:warm", f"warm-{i}"))
    table.add("first turn after start (connect + load)", f"{warm.trips:g} trips",
              f"({_per_turn(warm.commands)})")  # fmt: skip
    await turn("bench:W:C:warm", "warm-2")

    scenarios: list[tuple[str, Callable[[int], Awaitable[None]], bool]] = [
        ("new conversation: first turn", lambda i: turn(f"bench:W:C:new{i}", f"new-{i}"), True),
        ("existing conversation: next turn", lambda i: turn("bench:W:C:warm", f"n-{i}"), True),
        ("duplicate event (dropped)", lambda i: turn("bench:W:C:warm", "n-0"), True),
    ]
    for name, one, judged in scenarios:
        m = await _measure(view, turns, one)
        server_total = sum(m.server.values())
        ok = m.trips <= TARGET and server_total <= TARGET if judged else None
        detail = (
            f"≤ {TARGET}  (client: {_per_turn(m.commands)}; server: {_per_turn(m.server)}; "
            f"{m.scripted:g} commands inside scripts)"
        )
        table.add(name, f"{m.trips:g} trips", detail, ok)

    # A reply streaming for a while: the heartbeat extends the lock (and reads the stop key).
    # One beat first, so the extend script is loaded before counting.
    await turn("bench:W:C:long", "long-warm", body=gate.signal_interval * 1.5)
    m = await _measure(view, 1, lambda i: turn("bench:W:C:long", "long-0", body=stream))
    extra = m.trips - 2
    table.add(f"turn streaming {stream:g} s", f"{m.trips:g} trips",
              f"(enter + release + {extra:g} heartbeat extends: {extra / stream:.1f} per s "
              f"of streaming; {_per_turn(m.commands)})")  # fmt: skip
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--turns", type=int, default=200, help="turns per scenario")
    parser.add_argument("--stream", type=float, default=5.0, help="seconds the long turn streams")
    args = parser.parse_args()
    table = asyncio.run(run(args.turns, args.stream))
    table.print()
    sys.exit(1 if table.failed else 0)


if __name__ == "__main__":
    main()
