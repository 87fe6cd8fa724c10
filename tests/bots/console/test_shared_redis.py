"""Several ``threadcast chat`` processes on one data directory share one embedded Redis:
one quitting takes nothing from the others, and the last one leaves nothing running."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from core.lifecycle import Lifecycle
from tests import forked
from tests.bots.console.helpers import (
    console_env,
    embedded_server_answers,
    embedded_server_pid,
)
from tests.processes import process_gone, wait_until
from tests.servers.lyzr_server import LyzrServer


class PipedChat(Lifecycle):
    """``threadcast chat`` fed through a pipe, its output read as it comes."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.output = ""
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await forked.start(
            sys.executable, "-m", "bots.cli", "chat", env=self.env,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def say(self, line: str, *, expect: str) -> None:
        """Send ``line``; wait until ``expect`` (or the store's failure) is in the output."""
        assert self.process is not None and self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(60):
            while expect not in self.output and "unavailable" not in self.output:
                chunk = await self.process.stdout.read(4096)
                assert chunk, f"chat ended before {expect!r}:\n{self.output}"
                self.output += chunk.decode()
        assert expect in self.output, self.output

    async def quit(self) -> int:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(b"/quit\n")
        await self.process.stdin.drain()
        async with asyncio.timeout(60):
            return await self.process.wait()


async def test_two_chats_share_the_server_and_the_last_one_stops_it(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    env = console_env(tmp_path, lyzr)
    async with PipedChat(env) as first, PipedChat(env) as second:
        await first.say("one", expect="You said: one")  # the first starts the server
        await second.say("two", expect="You said: two")
        server = await embedded_server_pid(data)

        assert await first.quit() == 0
        await second.say("still there?", expect="You said: still there?")
        assert "unavailable" not in second.output
        assert await embedded_server_pid(data) == server  # the same server, never restarted

        assert await second.quit() == 0
    await wait_until(lambda: process_gone(server), timeout=30, what="redis-server to exit")
    assert not await embedded_server_answers(data)
