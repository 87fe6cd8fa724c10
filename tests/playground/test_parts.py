"""The playground's small parts: mentions typed as @name, when a browser is opened, and
the command line."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bots.cli import main
from bots.playground.browser import has_display
from bots.playground.mentions import encode_mentions

IDS = {"threadcast": "U0BOT", "alice": "U0ALICE"}


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("@threadcast hello", "<@U0BOT> hello"),
        ("hi @ThreadCast and @alice!", "hi <@U0BOT> and <@U0ALICE>!"),
        ("@nobody stays as typed", "@nobody stays as typed"),
        ("mail me at bob@threadcast.example", "mail me at bob@threadcast.example"),
        ("already <@U0BOT> encoded", "already <@U0BOT> encoded"),
    ],
)
def test_at_names_become_mentions(typed: str, sent: str) -> None:
    assert encode_mentions(typed, IDS) == sent


@pytest.mark.parametrize(
    ("environ", "platform", "shown"),
    [
        ({}, "linux", False),
        ({"DISPLAY": ":0"}, "linux", True),
        ({"WAYLAND_DISPLAY": "wayland-0"}, "linux", True),
        ({}, "darwin", True),
        ({}, "win32", True),
    ],
)
def test_a_browser_is_opened_only_where_there_is_a_display(
    environ: dict[str, str], platform: str, shown: bool
) -> None:
    assert has_display(environ, platform) is shown


def test_help_says_how_to_pick_the_agent(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["playground", "--help"])
    shown = capsys.readouterr().out
    for word in ("--port", "--host", "--no-browser", "LYZR_API_KEY", "demo"):
        assert word in shown


def test_a_port_in_use_is_one_line_naming_the_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    port, errors = _on_a_taken_port("127.0.0.1", tmp_path, monkeypatch, capsys)
    assert errors[-1] == (
        f"threadcast: configuration error: --port: cannot listen on 127.0.0.1:{port} "
        "(already in use); pick another port with --port"
    )
    assert not any("Traceback" in line for line in errors)


def test_listening_beyond_this_machine_is_warned_of_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page has no sign-in and drives the agent with the user's key: a --host other
    machines reach is said first (the port is taken, so the command ends there)."""
    _, errors = _on_a_taken_port("0.0.0.0", tmp_path, monkeypatch, capsys)
    assert errors[0].startswith("threadcast: warning: the playground listens on 0.0.0.0")
    assert "cannot listen on 0.0.0.0" in errors[-1]


def _on_a_taken_port(
    host: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[str]]:
    """``threadcast playground --host host`` on a port already taken there, which ends it
    with a configuration error (exit 2): the port and the lines it wrote on stderr."""
    monkeypatch.setenv("THREADCAST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("THREADCAST_AGENT", "demo")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with socket.socket() as taken:
        taken.bind((host, 0))
        taken.listen()
        port = taken.getsockname()[1]
        status = main(["playground", "--no-browser", "--host", host, "--port", str(port)])
    assert status == 2
    return port, capsys.readouterr().err.splitlines()
