"""``threadcast ask``: one turn; the reply streams to stdout.

Exit status (:mod:`bots.exit_status`): 0 answered, 1 the agent failed (the partial reply
stays on stdout, one line on stderr says why), 2 the message was refused, 3 Redis failed,
130 interrupted with Ctrl-C (the partial reply is kept).
"""

from __future__ import annotations

import asyncio
import signal
import sys

from adapters.console import choose_view
from bots.console.interrupts import routed_signals
from bots.console.places import settle_places
from bots.console.session import ConsoleSession, new_thread_id
from bots.exit_status import by_signal
from core.config import Settings
from core.errors import SurfaceError

__all__ = ["run_ask"]


async def run_ask(settings: Settings, message: str, thread: str | None) -> int:
    """One turn in ``thread`` (default: a new one). Returns the process exit status."""
    settings, notes = settle_places(settings)
    for note in notes:
        print(f"threadcast: {note}", file=sys.stderr)
    view = choose_view(out=sys.stdout, info=sys.stderr)
    session = ConsoleSession(settings, view)
    received: list[int] = []
    main = asyncio.current_task()

    def interrupt() -> None:
        received.append(signal.SIGINT)
        if not session.interrupt() and main is not None:
            main.cancel()  # still starting: nothing to keep

    def terminate(signum: int) -> None:
        received.append(signum)
        if not session.abandon() and main is not None:
            main.cancel()

    try:
        with routed_signals(interrupt=interrupt, terminate=terminate):
            async with session:
                result = await session.turn(thread or new_thread_id("ask"), message)
                view.end_reply()
                status = session.report(result)
    except (asyncio.CancelledError, SurfaceError):
        if not received:  # else: the terminal was closed or the command told to stop
            raise
    return by_signal(received[0]) if received else status
