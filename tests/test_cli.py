"""``threadcast ask`` / ``chat`` as a user runs them: real processes, the embedded Redis
(started and stopped by each process, data kept on disk), a local Lyzr-format agent."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str


@pytest.fixture
async def lyzr() -> AsyncIterator[LyzrServer]:
    async with LyzrServer() as server:
        yield server


def _env(tmp_path: Path, server: LyzrServer | None, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("THREADCAST_", "LYZR_", "OPENAI_", "REDIS_URL"))
    }
    env.update(
        THREADCAST_DATA_DIR=str(tmp_path / "data"),
        THREADCAST_ARTIFACT_DIR=str(tmp_path / "files"),
    )
    if server is not None:
        env.update(
            LYZR_API_KEY=server.api_key, LYZR_AGENT_ID="agent-1", LYZR_API_BASE=server.base_url
        )
    env.update(extra)
    return env


async def _threadcast(env: dict[str, str], *args: str, stdin: str | None = None) -> Run:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else b""), timeout=60
    )
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def _sessions(server: LyzrServer) -> list[str]:
    return [request.json["session_id"] for request in server.stream_requests()]


async def test_same_thread_keeps_its_session_across_process_restarts(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, lyzr)
    first = await _threadcast(env, "ask", "my name is Ada", "--thread", "t1")
    second = await _threadcast(env, "ask", "what did I say?", "--thread", "t1")
    other = await _threadcast(env, "ask", "hello", "--thread", "t2")

    assert (first.status, second.status, other.status) == (0, 0, 0), first.stderr
    assert first.stdout.strip() == "You said: my name is Ada"
    # The agent got the same session id in both processes, so it remembered the first turn.
    assert second.stdout.strip() == "You said: my name is Ada."
    sessions = _sessions(lyzr)
    assert sessions[0] == sessions[1]
    assert sessions[2] != sessions[0]
    assert all(request.json["user_id"] for request in lyzr.stream_requests())


async def test_agent_error_keeps_partial_reply_and_exits_non_zero(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    lyzr.enqueue(LyzrScript(tokens=split_words("Half of the answer is here"), error_after=4))
    run = await _threadcast(_env(tmp_path, lyzr), "ask", "go")
    assert run.status == 1
    assert run.stdout.startswith("Half of the answer")
    assert "model exploded" in run.stderr


async def test_empty_and_huge_messages_never_reach_the_agent(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, lyzr)
    empty = await _threadcast(env, "ask", "   \t ")
    huge = await _threadcast(env, "ask", "x" * 100_000)
    assert empty.status == huge.status == 0
    assert "empty" in empty.stdout
    assert "100,000 characters" in huge.stdout and "16,000" in huge.stdout
    assert lyzr.stream_requests() == []


async def test_control_characters_and_surrogates_are_cleaned(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    # argv cannot carry NUL, so this goes through chat's stdin.
    run = await _threadcast(_env(tmp_path, lyzr), "chat", stdin="bell\x07 and\x00 nul\n")
    assert run.status == 0, run.stderr
    assert lyzr.stream_requests()[0].json["message"] == "bell and nul"


async def test_chat_over_a_pipe_streams_plain_text_and_new_starts_a_thread(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    run = await _threadcast(
        _env(tmp_path, lyzr), "chat", stdin="first line\nwhat did I say?\n/new\nwhat did I say?\n"
    )
    assert run.status == 0, run.stderr
    assert "You said: first line" in run.stdout
    assert "You said: first line." in run.stdout  # memory within the thread
    assert "You said: nothing yet." in run.stdout  # /new: a fresh thread and session
    sessions = _sessions(lyzr)
    assert sessions[0] == sessions[1] != sessions[2]


async def test_demo_agent_saves_artifacts_and_lists_them(tmp_path: Path) -> None:
    run = await _threadcast(_env(tmp_path, None), "ask", "send me a file", "--thread", "f")
    assert run.status == 0, run.stderr
    saved = list((tmp_path / "files").rglob("*"))
    files = [path for path in saved if path.is_file()]
    assert files, run.stderr
    assert str(files[0]) in run.stderr


async def test_bad_configuration_is_one_clear_line(tmp_path: Path) -> None:
    unknown = await _threadcast(_env(tmp_path, None, THREADCAST_AGENT="gpt"), "ask", "hi")
    assert unknown.status == 2
    assert "THREADCAST_AGENT" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    no_agent = await _threadcast(_env(tmp_path, None, LYZR_API_KEY="k"), "ask", "hi")
    assert no_agent.status == 2
    assert "LYZR_AGENT_ID" in no_agent.stderr


async def test_unreachable_redis_names_redis_url(tmp_path: Path) -> None:
    env = _env(tmp_path, None, REDIS_URL="redis://user:secret@127.0.0.1:1/0")
    run = await _threadcast(env, "ask", "hi")
    assert run.status == 2
    assert "REDIS_URL" in run.stderr
    assert "secret" not in run.stderr
    assert "Traceback" not in run.stderr
