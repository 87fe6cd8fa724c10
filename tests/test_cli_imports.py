"""What a ``threadcast`` process imports: each command loads only its own stack.

Most of a bot's start-up CPU is importing modules, and the test suite alone starts dozens of
bot processes. So: ``threadcast discord`` loads no Slack SDK and ``threadcast slack`` no
discord.py; neither loads httpx's command-line tool (click, rich, pygments; httpx imports
it whenever click is installed, as in this environment) nor the console's renderer; and
``--help`` loads none of the agent, Redis or platform stack. Each case runs in a fresh
interpreter, whose ``sys.modules`` is the answer.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bots.console.helpers import console_env

_PROBE = """
import sys
from bots.cli import main
try:
    status = main(sys.argv[1:])
except SystemExit as exit:
    status = exit.code
print(status, *sorted({name.split(".")[0] for name in sys.modules}))
"""

_CLI_TOOLS = {"click", "pygments", "rich"}
"""httpx's command-line tool and the console renderer: no bot needs them."""


def _imported(env: dict[str, str], *args: str) -> tuple[str, set[str]]:
    """The exit status of ``threadcast *args`` and the top-level packages it imported."""
    run = subprocess.run(
        [sys.executable, "-c", _PROBE, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    status, *packages = run.stdout.splitlines()[-1].split()  # after any --help text
    return status, set(packages)


def _unreachable() -> str:
    """A loopback URL nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_the_discord_command_loads_no_slack_sdk(tmp_path: Path) -> None:
    env = console_env(tmp_path, None, PORT="0", DISCORD_TOKEN="t", DISCORD_API_URL=_unreachable())
    status, packages = _imported(env, "discord")
    assert status == "2"  # it ran as far as logging in (refused: nothing listens)
    assert "discord" in packages
    unwanted = packages & {"slack_sdk", "slack_bolt", *_CLI_TOOLS}
    assert not unwanted


def test_the_slack_command_loads_no_discord_py(tmp_path: Path) -> None:
    env = console_env(
        tmp_path,
        None,
        PORT="0",
        SLACK_API_TIMEOUT="2",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_SIGNING_SECRET="s",
        SLACK_API_URL=f"{_unreachable()}/api/",
    )
    env.pop("SLACK_APP_TOKEN", None)
    status, packages = _imported(env, "slack")
    assert status == "2"  # it ran as far as auth.test (refused: nothing listens)
    assert "slack_bolt" in packages
    unwanted = packages & {"discord", *_CLI_TOOLS}
    assert not unwanted


@pytest.mark.parametrize("command", ["discord", "slack", "chat"])
def test_help_loads_no_agent_redis_or_platform_stack(tmp_path: Path, command: str) -> None:
    status, packages = _imported(console_env(tmp_path, None), command, "--help")
    assert status == "0"
    unwanted = packages & {"aiohttp", "discord", "httpx", "redis", "slack_bolt", "slack_sdk"}
    assert not unwanted
