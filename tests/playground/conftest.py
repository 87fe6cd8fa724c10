"""``threadcast playground`` in this process: the real bots against the simulators, the
demo agent at its normal pace (or, ``lyzr_playground``, a scripted Lyzr server), an
embedded Redis of the test's own (the default set-up), and the page's server on a free
port. Tests act through the page's HTTP API and read what
the page is sent (its event stream), as the page itself does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.playground.feed import Feed
from bots.playground.server import page_server
from bots.playground.stack import Playground
from core.config import Settings
from tests.servers.lyzr_server import LyzrServer

Json = dict[str, Any]


def playground_settings(data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "agent": "demo",
        "redis_url": None,  # the embedded server, in the test's own directory
        "data_dir": data_dir,
        "shutdown_grace": 0.0,
    }
    values.update(overrides)
    return Settings(**values)


class PageStream:
    """The page's view of the playground: the snapshot and every update after it."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response
        self.snapshot: Json = {}
        self.messages: dict[str, dict[str, Json]] = {}
        self.calls: dict[str, list[Json]] = {}
        self.statuses: dict[str, dict[str, str]] = {}
        self.dialogs: dict[str, list[Json]] = {}
        self.busy: dict[str, bool] = {}
        self.history: dict[str, list[str]] = {}  # message id -> every text the page was sent

    async def next_event(self) -> Json:
        while True:
            line = await self._response.content.readline()
            if not line:
                raise ConnectionError("the event stream ended")
            if line.startswith(b"data: "):
                event: Json = json.loads(line[6:])
                self._apply(event)
                return event

    def _apply(self, event: Json) -> None:
        if event["type"] == "snapshot":
            self.snapshot = event
            for platform, pane in event["panes"].items():
                self.messages[platform] = {m["id"]: m for m in pane["messages"]}
                self.calls[platform] = list(pane["calls"])
                self.statuses[platform] = pane["statuses"]
                self.dialogs[platform] = pane.get("dialogs", [])
                self.busy[platform] = pane["busy"]
                for m in pane["messages"]:
                    self.history.setdefault(m["id"], []).append(m["text"])
            return
        platform = event["platform"]
        for message in event.get("upsert", []):
            self.messages[platform][message["id"]] = message
            self.history.setdefault(message["id"], []).append(message["text"])
        for removed in event.get("remove", []):
            self.messages[platform].pop(removed, None)
        self.calls[platform].extend(event.get("calls", []))
        if "statuses" in event:
            self.statuses[platform] = event["statuses"]
        if "dialogs" in event:
            self.dialogs[platform] = event["dialogs"]
        if "busy" in event:
            self.busy[platform] = event["busy"]

    async def until(self, predicate: Callable[[], bool], within: float = 20.0) -> None:
        """Read events until ``predicate()`` holds."""
        async with asyncio.timeout(within):
            while not predicate():
                await self.next_event()

    def thread(self, platform: str, thread: str) -> list[Json]:
        found = [m for m in self.messages[platform].values() if m["thread"] == thread]
        return sorted(found, key=lambda m: m["sort"])


@dataclass
class Running:
    stack: Playground
    feed: Feed
    http: aiohttp.ClientSession

    def directory(self, platform: str) -> Json:
        return self.feed.panes[platform].directory()

    def channel(self, platform: str, name: str = "general") -> str:
        return str(next(c["id"] for c in self.directory(platform)["channels"] if c["name"] == name))

    def person(self, platform: str, name: str = "alice") -> str:
        return str(next(p["id"] for p in self.directory(platform)["people"] if p["name"] == name))

    async def call(self, platform: str, action: str, body: Any) -> tuple[int, Json]:
        async with self.http.post(f"/api/{platform}/{action}", json=body) as response:
            return response.status, await response.json()

    async def post(
        self, platform: str, text: str, *, thread: str | None = None, user: str = "alice"
    ) -> str:
        body = {
            "channel": self.channel(platform),
            "user": self.person(platform, user),
            "text": text,
            "thread": thread,
        }
        status, answer = await self.call(platform, "post", body)
        assert status == 200, answer
        return str(answer["id"])

    async def open_page(self) -> PageStream:
        response = await self.http.get("/events")
        stream = PageStream(response)
        first = await stream.next_event()
        assert first["type"] == "snapshot"
        return stream


@pytest.fixture
async def playground(tmp_path: Path) -> AsyncIterator[Running]:
    async with _running(playground_settings(tmp_path / "data")) as running:
        yield running


@pytest.fixture
async def lyzr_playground(tmp_path: Path, lyzr: LyzrServer) -> AsyncIterator[Running]:
    """The playground answered by the ``lyzr`` fixture's server (its replies scripted by the
    test) instead of the demo agent."""
    settings = playground_settings(
        tmp_path / "data",
        agent="lyzr",
        lyzr_api_key=lyzr.api_key,
        lyzr_agent_id="playground-agent",
        lyzr_api_base=lyzr.url,
    )
    async with _running(settings) as running:
        yield running


@contextlib.asynccontextmanager
async def _running(settings: Settings) -> AsyncIterator[Running]:
    async with (
        Playground(settings) as stack,
        Feed(stack.panes) as feed,
        page_server(feed, host="127.0.0.1", port=0) as server,
        aiohttp.ClientSession(base_url=server.url) as http,
    ):
        yield Running(stack, feed, http)
