"""``threadcast chat``: an interactive (or piped) chat; every line is a turn in one thread.

A blank line only prompts again. Ctrl-C stops a reply that is streaming (twice: abandons
it); at the prompt it quits, as Ctrl-D and ``/quit`` do. The exit status is the worst of
the turns' (see :mod:`bots.exit_status`), or 130 after Ctrl-C at the prompt.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from adapters.console import choose_view
from bots.console import texts
from bots.console.interrupts import routed_signals
from bots.console.places import settle_places
from bots.console.session import ConsoleSession, new_thread_id
from bots.console.stdin import StdinLines
from bots.exit_status import by_signal
from core.config import Settings
from core.errors import SurfaceError

__all__ = ["run_chat"]


async def run_chat(settings: Settings, thread: str | None) -> int:
    """Chat in ``thread`` (default: a new one) until end of input; returns the exit status."""
    settings, notes = settle_places(settings)
    for note in notes:
        print(f"threadcast: {note}", file=sys.stderr)
    view = choose_view(out=sys.stdout, info=sys.stderr)
    session = ConsoleSession(settings, view)
    lines = StdinLines()
    received: list[int] = []
    main = asyncio.current_task()

    def interrupt() -> None:
        if session.interrupt():
            return  # a reply was streaming: it stops, the chat goes on
        received.append(signal.SIGINT)
        _quit()

    def terminate(signum: int) -> None:
        received.append(signum)
        session.abandon()
        _quit()

    def _quit() -> None:
        lines.close()
        if not session.open and main is not None:
            main.cancel()  # still starting

    status = 0
    try:
        with routed_signals(interrupt=interrupt, terminate=terminate):
            async with session:
                status = await _converse(session, lines, thread or new_thread_id("chat"))
    except (asyncio.CancelledError, SurfaceError):
        if not received:  # else: the terminal was closed or the command told to stop
            raise
    return by_signal(received[0]) if received else status


async def _converse(session: ConsoleSession, lines: StdinLines, thread: str) -> int:
    view = session.view
    interactive = sys.stdin.isatty()
    if interactive:
        view.say(texts.welcome(session.settings.agent_kind, thread))
    status = 0
    while True:
        if interactive:
            view.prompt(texts.YOU)
        line = await lines.next()
        if line is None:
            return status
        command = line.strip()
        if not command:
            continue
        if command in ("/quit", "/exit"):
            return status
        if command == "/help":
            view.say(texts.HELP)
            continue
        if command == "/new":
            thread = new_thread_id("chat")
            view.say(texts.new_thread(thread))
            continue
        if interactive:
            view.label(texts.AGENT)
        result = await session.turn(thread, line)
        view.end_reply()
        status = max(status, session.report(result))
