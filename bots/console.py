"""``threadcast chat`` and ``threadcast ask``: the agent in a terminal, no platform needed.

Each console session is a thread of its own (``console:local:console:<thread>``), so it
runs the very path a Slack or Discord thread runs: dedup, Redis session, lock, relay.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Coroutine
from typing import Any, TextIO

from adapters.console import ConsoleSurface
from core.config import Settings
from core.responder import Responder, TurnResult
from core.runtime import Runtime
from core.turn import ThreadRef, Turn

__all__ = ["run_ask", "run_chat"]

_HELP = "Commands: /new starts a new conversation, /help shows this, /quit (or Ctrl-D) exits."


def _where(thread: str) -> ThreadRef:
    return ThreadRef(platform="console", workspace="local", channel="console", thread=thread)


def _turn(thread: str, text: str) -> Turn:
    return Turn(where=_where(thread), user=_user(), message_id=uuid.uuid4().hex, text=text)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console-user"


async def run_ask(settings: Settings, message: str, thread: str | None) -> int:
    """One turn; the reply streams to stdout. Returns the process exit status."""
    thread = thread or f"ask-{uuid.uuid4().hex[:8]}"
    surface = ConsoleSurface(out=sys.stdout, info=sys.stderr, artifact_dir=settings.artifact_dir)
    async with Runtime(settings) as runtime:
        responder = runtime.responder(surface)
        stopping: set[asyncio.Task[None]] = set()
        with _on_interrupt(lambda: _spawn(_stop(responder, thread), stopping)):
            result = await responder.handle(_turn(thread, message))
    sys.stdout.write("\n")
    return _report(result, sys.stderr)


async def run_chat(settings: Settings, thread: str | None) -> int:
    """An interactive (or piped) chat; every line is a turn in one console thread."""
    current = thread or f"chat-{uuid.uuid4().hex[:8]}"
    interactive = sys.stdin.isatty()
    surface = ConsoleSurface(out=sys.stdout, info=sys.stderr, artifact_dir=settings.artifact_dir)
    lines = _StdinLines()
    status = 0
    async with Runtime(settings) as runtime:
        responder = runtime.responder(surface)
        if interactive:
            print(f"threadcast chat — agent: {settings.agent_kind}, thread: {current}. {_HELP}")
        running: asyncio.Task[TurnResult] | None = None
        stopping: set[asyncio.Task[None]] = set()

        def interrupt() -> None:
            if running is not None and not running.done():
                _spawn(_stop(responder, current), stopping)
            else:
                lines.close()

        with _on_interrupt(interrupt):
            while True:
                if interactive:
                    sys.stdout.write("\nyou> ")
                    sys.stdout.flush()
                line = await lines.next()
                if line is None or line.strip() in ("/quit", "/exit"):
                    break
                command = line.strip()
                if command == "/help":
                    print(_HELP)
                    continue
                if command == "/new":
                    current = f"chat-{uuid.uuid4().hex[:8]}"
                    print(f"(new conversation: thread {current})")
                    continue
                if interactive:
                    sys.stdout.write("agent> ")
                running = asyncio.create_task(responder.handle(_turn(current, line)))
                result = await running
                running = None
                sys.stdout.write("\n")
                status = max(status, _report(result, sys.stderr))
    return status


def _spawn(work: Coroutine[Any, Any, None], keep: set[asyncio.Task[None]]) -> None:
    """Start ``work`` from a signal handler, keeping a reference until it is done."""
    task = asyncio.create_task(work)
    keep.add(task)
    task.add_done_callback(keep.discard)


async def _stop(responder: Responder, thread: str) -> None:
    await responder.stop(_where(thread), user=_user(), is_dm=False)


def _report(result: TurnResult, err: TextIO) -> int:
    """Print what went wrong (stderr) and map it to an exit status."""
    outcome = result.outcome
    if result.status == "store_failed":
        return 3
    if outcome is None:
        return 0
    if outcome.error is not None:
        err.write(f"threadcast: {outcome.error}\n")
        return 1
    return 0


class _on_interrupt:
    """Route Ctrl-C to ``action`` (stop the reply / quit) instead of a traceback."""

    def __init__(self, action: Callable[[], None]) -> None:
        self.action = action

    def __enter__(self) -> None:
        # Not the main thread or not a Unix loop: keep the default behaviour.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGINT, self.action)

    def __exit__(self, *exc_info: object) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGINT)


class _StdinLines:
    """Lines from stdin, read by a daemon thread so a pending read never blocks exit."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        threading.Thread(target=self._read, name="stdin-reader", daemon=True).start()

    def _read(self) -> None:
        for line in sys.stdin:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, line.rstrip("\n"))
        self._loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def next(self) -> str | None:
        return await self._queue.get()
