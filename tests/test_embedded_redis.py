"""The embedded Redis server: shared by every process on one data directory, never killed
by a terminal's signals, never left behind. Real processes and real signals throughout."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as aioredis

from core.sessions.embedded import EmbeddedRedis, answers_ping
from tests.processes import process_gone, wait_until

# A process that uses the embedded server like `threadcast chat` does: it starts (or
# joins) it, says where it is, and keeps its lease until its stdin closes.
USER = """
import asyncio, signal, sys
from pathlib import Path
from core.sessions.embedded import EmbeddedRedis

# Ctrl-C as in a terminal, even when the suite runs as a background job (whose children
# inherit SIGINT ignored: POSIX shells ignore it for `&` commands without job control).
signal.signal(signal.SIGINT, signal.default_int_handler)

server = EmbeddedRedis(Path(sys.argv[1]))
print(asyncio.run(server.start()), flush=True)
sys.stdin.readline()
asyncio.run(server.stop())
"""


@asynccontextmanager
async def user_process(
    data_dir: Path, *, own_group: bool = False
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A process holding a lease on ``data_dir``'s server (``own_group``: in a process
    group of its own, as a shell runs a job)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", USER, str(data_dir),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        start_new_session=own_group,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line.startswith(b"unix://"), line
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def server_pid(url: str) -> int:
    client = aioredis.from_url(url)
    try:
        info = await client.info("server")
        return int(info["process_id"])
    finally:
        await client.aclose()


async def answers(url: str) -> bool:
    # A patience, not a bound: a live server on a machine busy with other processes may
    # take seconds to answer (a dead one refuses the connection at once).
    return await answers_ping(url, seconds=10.0)


async def test_embedded_redis_persists_across_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    url = await server.start()
    pid = await server_pid(url)
    client = aioredis.from_url(url, decode_responses=True)
    await client.set("greeting", "hello")
    await client.aclose()
    await server.stop()
    assert process_gone(pid)  # the last user stops the server at once

    again = EmbeddedRedis(tmp_path / "data")
    url = await again.start()
    client = aioredis.from_url(url, decode_responses=True)
    try:
        assert await client.get("greeting") == "hello"
    finally:
        await client.aclose()
        await again.stop()


async def test_the_starter_leaving_first_does_not_take_the_server_from_the_others(
    tmp_path: Path,
) -> None:
    first = EmbeddedRedis(tmp_path)
    second = EmbeddedRedis(tmp_path)
    await first.start()
    assert await second.start() == first.url
    pid = await server_pid(first.url)
    await first.stop()  # it started the server, but `second` still uses it
    assert await answers(second.url)
    await second.stop()
    assert process_gone(pid)
    assert not await answers(first.url)


async def test_processes_starting_at_once_start_one_server(tmp_path: Path) -> None:
    users = [EmbeddedRedis(tmp_path / "data") for _ in range(3)]
    urls = await asyncio.gather(*(user.start() for user in users))
    try:
        assert len(set(urls)) == 1
        assert len({await server_pid(url) for url in urls}) == 1
        assert await answers(urls[0])
    finally:
        for user in users:
            await user.stop()


async def test_ctrl_c_to_the_starters_process_group_does_not_reach_the_server(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    async with user_process(data, own_group=True) as starter:
        joiner = EmbeddedRedis(data)
        url = await joiner.start()
        try:
            os.killpg(starter.pid, signal.SIGINT)  # what a terminal's Ctrl-C does
            async with asyncio.timeout(30):
                await starter.wait()
            assert await answers(url)
        finally:
            await joiner.stop()


async def test_a_killed_user_leaves_no_orphaned_server_and_the_next_start_works(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    async with user_process(data, own_group=True) as user:
        url = EmbeddedRedis(data).url
        pid = await server_pid(url)
        os.kill(user.pid, signal.SIGKILL)
        await user.wait()
    await wait_until(lambda: process_gone(pid), timeout=30, what="the server to stop")
    again = EmbeddedRedis(data)
    assert await answers(await again.start())
    await again.stop()


async def test_a_killed_server_leaves_no_socket_that_breaks_the_next_start(
    tmp_path: Path,
) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    url = await server.start()
    pid = await server_pid(url)
    os.kill(pid, signal.SIGKILL)
    await wait_until(lambda: process_gone(pid), timeout=30, what="the server to die")
    assert server.socket_path.exists()  # a killed server cannot remove its socket
    await server.stop()

    again = EmbeddedRedis(tmp_path / "data")
    url = await again.start()
    try:
        assert await answers(url)
        assert await server_pid(url) != pid
    finally:
        await again.stop()


async def test_a_server_without_its_watchdog_is_replaced_by_a_supervised_one(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    first = EmbeddedRedis(data)
    url = await first.start()
    pid = await server_pid(url)
    watchdog = _parent_of(pid)
    assert watchdog != os.getpid(), "the server must not be this process's child"
    os.kill(watchdog, signal.SIGKILL)
    await wait_until(lambda: process_gone(watchdog), timeout=30, what="the watchdog to die")
    await first.stop()  # the server, unsupervised, keeps running

    again = EmbeddedRedis(data)
    await again.start()
    try:
        assert process_gone(pid)
        replacement = await server_pid(url)
        assert b"embedded_watchdog" in _command_line(_parent_of(replacement))
    finally:
        await again.stop()
    await wait_until(lambda: process_gone(replacement), timeout=30, what="the server to stop")


def _parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def _command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()
