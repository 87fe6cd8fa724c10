"""A bot process whose event loop counts the CPU of every callback it runs, by owner.

``BOT_PROFILE=tasks`` (see ``bot_process.py``) runs ``threadcast <command>`` through this
module. Every ``Handle._run`` is timed with ``time.thread_time`` (the loop thread's own CPU,
user and system) and charged to its owner: for a task's step or wake-up, the coroutine the
task was made with (``Relay._pump``, ``MessageHandler._answer`` ...); for any other callback,
its qualified name (``_SelectorSocketTransport._read_ready`` for a socket read that no task
awaited yet, timers ...). A sampling profiler (py-spy) weighs a thread that another process
preempted as if it ran; this counts what the loop thread used, exactly, per owner, at ~1 µs
per callback. What is not in any callback (the loop's own select and scheduling, other
threads) is the process's CPU less their sum.

The bot runs on asyncio's own loop here (``THREADCAST_EVENT_LOOP=asyncio``: uvloop's
callbacks are not ``Handle._run``). The table goes to ``BOT_PROFILE_OUT`` when the process
exits: owner, callbacks, CPU seconds, µs per callback, sorted by CPU.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

_stats: dict[str, list[float]] = {}
_DEPTH = 3  # awaiting frames named below the task's own coroutine


def _owner(callback: Callable[..., Any]) -> str:
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        return _await_chain(task.get_coro())
    qualname = getattr(callback, "__qualname__", None)
    return qualname if qualname is not None else type(callback).__qualname__


def _await_chain(coro: Any) -> str:
    """The task's coroutine, then the innermost ``_DEPTH`` coroutines it awaits: where the
    step resumes (a task's coroutine alone would charge everything an ``on_message``
    handler does to discord.py's ``Client._run_event``)."""
    chain: list[str] = []
    while coro is not None and len(chain) < 64:
        name = getattr(coro, "__qualname__", None)
        if name is None:  # a future, an async generator's asend: the chain ends there
            break
        chain.append(name)
        coro = (
            getattr(coro, "cr_await", None)
            or getattr(coro, "ag_await", None)
            or getattr(coro, "gi_yieldfrom", None)
        )
    inner = chain[1:][-_DEPTH:]
    skipped = ["..."] if len(chain) > _DEPTH + 1 else []
    return " > ".join(chain[:1] + skipped + inner)


def install() -> None:
    original = asyncio.events.Handle._run
    clock = time.thread_time
    stats = _stats

    def _run(self: asyncio.Handle) -> None:
        start = clock()
        original(self)
        spent = clock() - start
        key = _owner(self._callback)  # type: ignore[attr-defined]
        entry = stats.get(key)
        if entry is None:
            stats[key] = [1, spent]
        else:
            entry[0] += 1
            entry[1] += spent

    asyncio.events.Handle._run = _run  # type: ignore[method-assign]
    atexit.register(_report)


def _report() -> None:
    out = Path(os.environ.get("BOT_PROFILE_OUT", "tasks.txt"))
    process = time.process_time()
    rows = sorted(_stats.items(), key=lambda item: item[1][1], reverse=True)
    counted = sum(spent for _, spent in _stats.values())
    lines = [
        f"process CPU {process:.2f} s; in callbacks {counted:.2f} s; "
        f"elsewhere (select, scheduling, threads, start-up) {process - counted:.2f} s",
        f"{'owner':<110} {'calls':>10} {'CPU s':>8} {'µs/call':>8}",
    ]
    for owner, (calls, spent) in rows:
        per_call = spent / calls * 1e6
        lines.append(f"{owner[:110]:<110} {int(calls):>10} {spent:>8.2f} {per_call:>8.1f}")
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    install()
    # uvloop runs its callbacks in C, not through Handle._run: count on asyncio's own loop.
    os.environ["THREADCAST_EVENT_LOOP"] = "asyncio"
    from bots.cli import main

    sys.exit(main(sys.argv[1:]))
