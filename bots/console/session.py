"""One console process's parts — runtime, responder, view — and the turn it runs.

Each console conversation is a thread of its own (``console:local:console:<thread>``), so
it runs the very path a Slack or Discord thread runs: dedup, Redis session, lock, relay.
"""

from __future__ import annotations

import asyncio
import getpass
import uuid
from contextlib import AsyncExitStack

from adapters.console import ConsoleSurface, ReplyView
from bots.console.echo import echo_off
from bots.console.outcome import (
    CONSOLE_NOTICES,
    EMPTY_REPLY,
    failure_line,
    is_empty,
    status_of,
)
from core.config import Settings
from core.governance import StopResult
from core.lifecycle import Lifecycle
from core.responder import Responder, TurnResult
from core.runtime import Runtime
from core.turn import ThreadRef, Turn

__all__ = ["ConsoleSession", "new_thread_id"]


def new_thread_id(kind: str) -> str:
    return f"{kind}-{uuid.uuid4().hex[:8]}"


class ConsoleSession(Lifecycle):
    """``async with ConsoleSession(settings, view) as session: await session.turn(...)``."""

    responder: Responder
    _runtime: Runtime

    def __init__(self, settings: Settings, view: ReplyView) -> None:
        self.settings = settings
        self.view = view
        self.open = False
        self._stack = AsyncExitStack()
        self._running: asyncio.Task[TurnResult] | None = None
        self._thread = ""
        self._stops = 0
        self._stopping: set[asyncio.Task[StopResult]] = set()

    async def start(self) -> None:
        runtime = await self._stack.enter_async_context(Runtime(self.settings))
        self._runtime = runtime
        surface = ConsoleSurface(view=self.view, artifact_dir=self.settings.artifact_dir)
        self.responder = runtime.responder(surface)
        self.responder.relay.notices = CONSOLE_NOTICES
        self.open = True

    async def stop(self) -> None:
        self.open = False
        self.view.close()
        await self._stack.aclose()

    async def turn(self, thread: str, text: str) -> TurnResult | None:
        """Answer ``text`` in ``thread``; None when the turn was abandoned."""
        turn = Turn(where=_where(thread), user=_user(), message_id=uuid.uuid4().hex, text=text)
        self._thread, self._stops = thread, 0
        self._running = asyncio.create_task(self.responder.handle(turn), name="console-turn")
        try:
            with echo_off():
                return await self._running
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this command is being cancelled, not just the turn
            return None
        finally:
            self._running = None

    def interrupt(self) -> bool:
        """Ctrl-C: stop the streaming reply; a second time, abandon it. False if none runs."""
        running = self._running
        if running is None or running.done():
            return False
        self._stops += 1
        if self._stops == 1:
            stop = self.responder.stop(_where(self._thread), user=_user(), is_dm=False)
            task = asyncio.create_task(stop)
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)
        else:
            running.cancel()
        return True

    def abandon(self) -> bool:
        """Cancel the running turn (the relay still finalises its message)."""
        running = self._running
        if running is None or running.done():
            return False
        running.cancel()
        return True

    def report(self, result: TurnResult | None) -> int:
        """Show what went wrong, once, and return the exit status the turn calls for."""
        if result is None:
            return 0
        error = result.outcome.error if result.outcome is not None else None
        if error is not None:
            deployment = self._runtime.deployment.current.deployment
            self.view.error(failure_line(error, self.settings, deployment, result.agent))
        elif is_empty(result):
            self.view.note(EMPTY_REPLY)
        return status_of(result)


def _where(thread: str) -> ThreadRef:
    return ThreadRef(platform="console", workspace="local", channel="console", thread=thread)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "console-user"
