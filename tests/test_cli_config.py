"""The configuration file and ``threadcast usage`` as a user meets them: real processes.

A bad file stops every command with one line naming the file and the key (exit 2);
``usage`` prints what a scripted conversation cost; two processes share one quota.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from tests.bots.console.helpers import console_env as _env
from tests.deployment.files import KEYS, route, two_agents, write
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.test_cli import Run, _threadcast, _threadcast_in_process

BAD_FILES = [
    ('[[agents]]\nname = "a"\nbackend = "demo"\ncolour = "red"\n', "agents[0].colour: unknown key"),
    ('[quotas]\nuser_turns_per_hour = "ten"\n',
     "quotas.user_turns_per_hour: input should be a valid integer, unable to parse string as "
     "an integer (got 'ten')"),
    ('[[agents]]\nname = "support"\nbackend = "demo"\n[[routes]]\nagent = "support"\n'
     '[[routes]]\nagent = "support"\n[[routes]]\nagent = "suport"\n',
     "routes[2].agent: unknown agent 'suport' (agents: support)"),
    ('[[agents]]\nname = "a"\nbackend = "lyzr"\nagent_id = "x"\napi_key_env = "NOT_SET_KEY"\n',
     "agents[0].api_key_env: the environment variable NOT_SET_KEY is not set"),
]  # fmt: skip


def _the_line(command: list[str], run: Run) -> str:
    """The one line on stderr, as ``threadcast: …``: slack logs JSON by default, so it is
    a JSON log line there (the collector parses each line), plain text for ask."""
    if command[0] != "slack":
        return run.stderr
    (event,) = run.json_lines
    assert (event["level"], event["logger"]) == ("CRITICAL", "threadcast")
    return f"threadcast: {event['msg']}\n"


@pytest.mark.parametrize(("text", "problem"), BAD_FILES)
@pytest.mark.parametrize("command", [["ask", "hi"], ["slack"]])
def test_a_bad_file_is_one_clear_line_and_exit_2(
    tmp_path: Path,
    text: str,
    problem: str,
    command: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = write(tmp_path / "threadcast.toml", text)
    env = _env(tmp_path, None, THREADCAST_CONFIG=str(path))
    run = _threadcast_in_process(monkeypatch, capsys, env, *command)
    assert run.status == 2
    assert _the_line(command, run) == f"threadcast: configuration error: {path}: {problem}\n"
    assert run.stdout == ""


@pytest.mark.parametrize("command", [["ask", "hi"], ["slack"]])
async def test_a_bad_file_stops_the_real_process_with_that_line_alone(
    tmp_path: Path, command: list[str]
) -> None:
    """The same from a real process: its exit status, and nothing else on its output."""
    text, problem = BAD_FILES[0]
    path = write(tmp_path / "threadcast.toml", text)
    run = await _threadcast(_env(tmp_path, None, THREADCAST_CONFIG=str(path)), *command)
    assert run.status == 2
    assert _the_line(command, run) == f"threadcast: configuration error: {path}: {problem}\n"
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("command", "log_format", "as_json"),
    [(["ask", "hi"], "json", True), (["slack"], "text", False), (["slack"], "jsn", True)],
)
def test_the_line_follows_the_log_format_even_when_the_settings_are_unreadable(
    tmp_path: Path,
    command: list[str],
    log_format: str,
    as_json: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """THREADCAST_LOG_FORMAT is read from the environment when the settings fail (an
    invalid one leaves the command's default); the JSON line is scrubbed of the
    environment's secrets, as every JSON log line is."""
    secret = "gpt-not-shown-123"  # the rejected agent name quotes it
    env = _env(tmp_path, None, THREADCAST_LOG_FORMAT=log_format, THREADCAST_AGENT=secret,
               DISCORD_TOKEN=secret)  # fmt: skip
    run = _threadcast_in_process(monkeypatch, capsys, env, *command)
    assert run.status == 2 and run.stdout == ""
    if as_json:
        (event,) = run.json_lines
        assert event["level"] == "CRITICAL" and "THREADCAST_AGENT" in str(event["msg"])
        assert secret not in run.stderr and "[REDACTED]" in run.stderr
    else:
        (line,) = run.error_lines
        assert line.startswith("threadcast: configuration error: ") and "THREADCAST_AGENT" in line


async def test_usage_after_a_scripted_conversation(tmp_path: Path) -> None:
    async with (
        LyzrServer(api_key=KEYS["SUPPORT_KEY"]) as support,
        LyzrServer(api_key=KEYS["ENG_KEY"]) as eng,
    ):
        text = two_agents(support, eng) + route("support", platform="console")
        path = write(tmp_path / "threadcast.toml", text)
        env = _env(tmp_path, None, THREADCAST_CONFIG=str(path), USER="ada", **KEYS)
        support.enqueue(
            LyzrScript(tokens=split_words("Hello there"), first_delay=0.2),
            LyzrScript(tokens=split_words("Second answer!")),
            LyzrScript(tokens=split_words("Half an"), error_after=2),
        )
        for message in ("hi", "how are you", "fail"):
            run = await _threadcast(env, "ask", message, "--thread", "t1")
            assert run.status == (1 if message == "fail" else 0), run.stderr
        by_agent = await _threadcast(env, "usage", "--json")
        by_user = await _threadcast(env, "usage", "--by", "user", "--days", "1", "--json")
        table = await _threadcast(env, "usage")
    assert by_agent.status == by_user.status == table.status == 0, by_agent.stderr
    (row,) = json.loads(by_agent.stdout)["rows"]
    assert row["key"] == "support"
    assert (row["turns"], row["errors"]) == (3, 1)
    assert row["chars_in"] == len("hi") + len("how are you") + len("fail")
    assert row["chars_out"] == len("Hello there") + len("Second answer!") + len("Half an")
    assert row["mean_first_token_seconds"] > 0 and row["agent_seconds"] > 0.2
    (user,) = json.loads(by_user.stdout)["rows"]
    assert (user["key"], user["turns"]) == ("console/ada", 3)
    header, line = table.stdout.splitlines()
    assert header.split()[:2] == ["agent", "turns"]
    cells = line.split()
    assert cells[:4] == ["support", "3", "17", "32"] and cells[-1] == "1"  # 1 error


async def test_two_processes_share_one_quota(redis_url: str, tmp_path: Path) -> None:
    async with (
        LyzrServer(api_key=KEYS["SUPPORT_KEY"]) as support,
        LyzrServer(api_key=KEYS["ENG_KEY"]) as eng,
    ):
        text = two_agents(support, eng) + "\n[quotas]\nuser_turns_per_hour = 2\n"
        path = write(tmp_path / "threadcast.toml", text)
        user = f"quota-{uuid.uuid4().hex[:8]}"  # this test's own counters on a shared Redis
        env = _env(
            tmp_path, None, THREADCAST_CONFIG=str(path), USER=user, REDIS_URL=redis_url, **KEYS
        )
        support.default = LyzrScript(tokens=split_words("fine thanks"), delay=0.05)
        runs = await asyncio.gather(
            *(_threadcast(env, "ask", f"question {n}", "--thread", f"q{n}") for n in range(3))
        )
    assert [run.status for run in runs] == [0, 0, 0], [run.stderr for run in runs]
    answered = [run for run in runs if "fine thanks" in run.stdout]
    refused = [run for run in runs if "limit of 2 messages an hour" in run.stdout]
    assert (len(answered), len(refused)) == (2, 1), [run.stdout for run in runs]
    assert len(support.stream_requests()) == 2
