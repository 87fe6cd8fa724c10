"""``threadcast playground``: the real bots against local simulators, shown in a browser.

Start-up: the :class:`~bots.playground.stack.Playground` (Redis, the agent, both
simulators, both bots), then the page's server on ``--host``/``--port``; the URL is printed
and, where there is a display, opened. SIGINT (Ctrl-C) or SIGTERM closes it all in reverse:
the open pages' streams, the server, the bots (replies in flight are finished or
interrupted as in production), the simulators, Redis.
"""

from __future__ import annotations

import asyncio
import signal
import sys

from bots.playground.browser import open_page
from bots.playground.feed import Feed
from bots.playground.guard import is_loopback
from bots.playground.server import page_server
from bots.playground.stack import Playground
from bots.playground.texts import BANNER, OPEN_TO_OTHERS, STOPPING
from bots.signals import handling_signals
from core.config import Settings

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "run_playground"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


async def run_playground(
    settings: Settings,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    open_browser: bool = True,
) -> int:
    """Run until SIGINT or SIGTERM; returns the exit status."""
    if not is_loopback(host):  # the page has no sign-in: said once, before anything starts
        print(OPEN_TO_OTHERS.format(host=host), file=sys.stderr, flush=True)
    stop = asyncio.Event()
    with handling_signals(dict.fromkeys((signal.SIGINT, signal.SIGTERM), stop.set)):
        async with (
            Playground(settings) as playground,
            Feed(playground.panes) as feed,
            page_server(feed, host=host, port=port) as server,
        ):
            url = server.url + "/"
            print(BANNER.format(url=url, agent=settings.agent_kind), flush=True)
            if open_browser:
                open_page(url)
            await stop.wait()
            print(STOPPING, file=sys.stderr, flush=True)
    return 0
