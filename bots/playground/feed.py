"""Live updates for every open page: what changed in each pane, as soon as it changed.

One pump per pane waits for the bot's next API call (every change a user can see follows
one: a post, an edit, a status) and compares what the pane shows now with what the pages
were last sent: new and changed messages, removed ones, thread indicators, open dialogs,
the new calls for the timeline. A page that connects gets a snapshot first, then these
updates. A page that falls far behind is dropped; its ``EventSource`` reconnects and gets
a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Sequence

from bots.playground.pane import Json, Pane
from core.lifecycle import Lifecycle

__all__ = ["Feed", "Subscription"]

RECENT_CALLS = 300  # timeline entries a new page starts with, per platform
MAX_BACKLOG = 2_000  # updates a page may be behind before it is dropped
IDLE_RECHECK = 1.0  # seconds: some indicators end with time alone (typing, status)


class Subscription:
    """One page's queue of updates; ``None`` ends it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Json | None] = asyncio.Queue()

    async def next(self) -> Json | None:
        return await self.queue.get()


class Feed(Lifecycle):
    def __init__(self, panes: Sequence[Pane]) -> None:
        self.panes = {pane.platform: pane for pane in panes}
        self._shown: dict[str, dict[str, Json]] = {p: {} for p in self.panes}
        self._statuses: dict[str, dict[str, str]] = {p: {} for p in self.panes}
        self._dialogs: dict[str, list[Json]] = {p: [] for p in self.panes}
        self._busy: dict[str, bool] = dict.fromkeys(self.panes, False)
        self._calls_seen: dict[str, int] = dict.fromkeys(self.panes, 0)
        self._changes_seen: dict[str, int] = dict.fromkeys(self.panes, 0)
        self._recent: dict[str, deque[Json]] = {p: deque(maxlen=RECENT_CALLS) for p in self.panes}
        self._subscribers: set[Subscription] = set()
        self._pumps: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for platform in self.panes:
            self.refresh(platform)
            self._pumps.append(asyncio.create_task(self._pump(platform), name=f"feed-{platform}"))

    async def stop(self) -> None:
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.end_pages()

    # -- pages ----------------------------------------------------------------------------
    def subscribe(self) -> tuple[Json, Subscription]:
        """The snapshot a new page starts from, and its queue of updates after it."""
        subscription = Subscription()
        self._subscribers.add(subscription)
        return self.snapshot(), subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.discard(subscription)
            subscription.queue.put_nowait(None)

    def end_pages(self) -> None:
        """End every page's stream (the process is stopping)."""
        for subscription in list(self._subscribers):
            self.unsubscribe(subscription)

    def snapshot(self) -> Json:
        panes = {
            platform: {
                "directory": pane.directory(),
                "messages": list(self._shown[platform].values()),
                "statuses": self._statuses[platform],
                "dialogs": self._dialogs[platform],
                "calls": list(self._recent[platform]),
                "busy": self._busy[platform],
            }
            for platform, pane in self.panes.items()
        }
        return {"type": "snapshot", "panes": panes}

    # -- changes --------------------------------------------------------------------------
    def refresh(self, platform: str) -> None:
        """Send every page what changed in ``platform``'s pane since the last refresh."""
        pane = self.panes[platform]
        self._changes_seen[platform] = pane.change_count()
        update: Json = {"type": "update", "platform": platform}
        shown, now = self._shown[platform], pane.messages()
        upsert = [view for key, view in now.items() if shown.get(key) != view]
        removed = [key for key in shown if key not in now]
        if upsert or removed:
            update["upsert"], update["remove"] = upsert, removed
            self._shown[platform] = now
        calls = pane.calls(self._calls_seen[platform])
        if calls:
            self._calls_seen[platform] += len(calls)
            update["calls"] = [c.to_json() for c in calls]
            self._recent[platform].extend(update["calls"])
        statuses = pane.statuses()
        if statuses != self._statuses[platform]:
            update["statuses"] = self._statuses[platform] = statuses
        dialogs = pane.dialogs()
        if dialogs != self._dialogs[platform]:
            update["dialogs"] = self._dialogs[platform] = dialogs
        if pane.busy != self._busy[platform]:
            update["busy"] = self._busy[platform] = pane.busy
        if len(update) > 2:
            self._broadcast(update)

    def _broadcast(self, update: Json) -> None:
        for subscription in list(self._subscribers):
            if subscription.queue.qsize() > MAX_BACKLOG:
                self.unsubscribe(subscription)
            else:
                subscription.queue.put_nowait(update)

    async def _pump(self, platform: str) -> None:
        pane = self.panes[platform]
        while True:
            await pane.wait_change(self._changes_seen[platform], IDLE_RECHECK)
            self.refresh(platform)
