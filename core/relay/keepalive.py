"""The thread status while a reply has nothing new to show: it keeps the thread alive.

An agent running tools can be silent for minutes, and a reply whose text is ready may
wait minutes for the platform's budget under a flood. Neither is a failure, but a user who
sees nothing assumes one, and the platforms drop an indicator by themselves (Slack clears
a thread status after two minutes; Discord's typing lasts ten seconds, re-triggered by the
adapter). So, once per reply, :class:`KeepAlive` decides the status the thread should show:

- before the first text: "thinking", or "queued" once the first post has waited for the
  budget (:attr:`KeepAlive.queued`, set by the sender);
- mid-reply, the agent silent for ``quiet`` seconds: "still working", or the agent's own
  progress status ("Using search…") while no text followed it (the streaming indicator
  stays on the message meanwhile), cleared when text flows again;
- otherwise none of its own.

A status it shows is refreshed every ``refresh`` seconds while it applies. It wakes once per
``quiet`` seconds at most (never per chunk) and makes a call only when the status changes
or is due for a refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.relay.inbox import Inbox
from core.relay.notices import Notices

__all__ = ["KEEP_ALIVE_QUIET", "KEEP_ALIVE_REFRESH", "KeepAlive"]

KEEP_ALIVE_QUIET = 5.0
"""Seconds without new text after which a streaming reply's thread says it is working."""
KEEP_ALIVE_REFRESH = 60.0
"""Seconds between refreshes of a status (Slack drops a thread status after 120 s)."""


class KeepAlive:
    """The status loop of one reply; run :meth:`run` as a task, cancel it at the end."""

    def __init__(
        self,
        inbox: Inbox,
        has_message: Callable[[], bool],
        show: Callable[[str | None], Awaitable[None]],
        notices: Notices,
        *,
        quiet: float = KEEP_ALIVE_QUIET,
        refresh: float = KEEP_ALIVE_REFRESH,
    ) -> None:
        self._inbox = inbox
        self._has_message = has_message
        self._show = show
        self._notices = notices
        self._quiet = quiet
        self._refresh = refresh
        self.queued = False
        """Set when the reply's first post has waited for the budget (the sender says)."""
        self._showing: str | None = None
        self._shown_at = 0.0
        self._progress: str | None = None  # the agent's own status, until text follows it
        self._progress_at = 0.0
        self._wake = asyncio.Event()

    def shown(self, status: str, *, progress: bool = False) -> None:
        """The relay showed ``status`` itself: the thinking status at the reply's start, or
        (``progress``) the agent's progress status, kept (and refreshed) instead of ours."""
        now = asyncio.get_running_loop().time()
        self._showing, self._shown_at = status, now
        if progress:
            self._progress, self._progress_at = status, now

    def mark_queued(self) -> None:
        """The first post is queued for the budget: say so now, not at the next check."""
        if not self._has_message():
            self.queued = True
            self._wake.set()

    async def run(self, started: float) -> None:
        loop = asyncio.get_running_loop()
        before_first = True
        while True:
            if before_first and self._has_message():
                # The first post cleared the status (Slack clears it on a reply, Discord
                # ends typing on a message): nothing of ours shows any more.
                before_first, self._showing = False, None
            now = loop.time()
            last = self._inbox.last_arrival
            silent_for = now - (started if last is None else last)
            wanted = self._wanted(silent_for)
            due = now - self._shown_at >= self._refresh
            if wanted != self._showing or (wanted is not None and due):
                if wanted is not None or self._showing is not None:
                    await self._show(wanted)
                self._showing, self._shown_at = wanted, loop.time()
            # Next look: when the silence reaches ``quiet``, or a refresh is due.
            delay = self._quiet if silent_for >= self._quiet else self._quiet - silent_for
            if self._showing is not None:
                delay = min(delay, self._shown_at + self._refresh - loop.time())
            self._wake.clear()
            try:
                async with asyncio.timeout(max(0.05, delay)):
                    await self._wake.wait()
            except TimeoutError:
                pass

    def _wanted(self, silent_for: float) -> str | None:
        notices = self._notices
        last = self._inbox.last_arrival
        if self._progress is not None and last is not None and last > self._progress_at:
            self._progress = None  # text came after the progress status: the step is over
        if not self._has_message():
            return notices.queued if self.queued else self._progress or notices.thinking
        if self._inbox.ended:
            return None  # the final text is on its way; the relay clears the status
        if self._progress is not None:
            return self._progress
        return notices.working if silent_for >= self._quiet else None
