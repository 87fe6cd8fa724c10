"""Bad values of settings as an operator meets them: each stops the command at start-up
with one line naming its variable (exit 2), never a traceback, and never a bot that starts
and then fails every message. Values that only look odd (spaces, a pasted newline) are
read as the operator meant them."""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

import pytest

from bots.cli import main
from bots.discord.settings import load_discord_settings
from bots.simulators.slack import SlackSimulator
from bots.slack.app import SlackService
from bots.slack.settings import SlackSettings, load_slack_settings
from core.config import Settings, load_settings, secret_value
from core.deployment.schema import IdRule
from core.errors import ConfigError
from tests.bots.console.helpers import console_env
from tests.deployment.files import write
from tests.test_cli import _threadcast, _threadcast_in_process

_PREFIXES = ("THREADCAST_", "LYZR_", "OPENAI_", "AGENT_", "REDIS_", "SLACK_", "DISCORD_", "PORT")

BAD_VALUES = [
    # A number of seconds that is not finite passed gt=0: the session store then
    # overflowed on the first message (a traceback), or a timeout never fired.
    ({"THREADCAST_SESSION_TTL": "1e400"}, "THREADCAST_SESSION_TTL", "finite number"),
    ({"AGENT_IDLE_TIMEOUT": "inf"}, "AGENT_IDLE_TIMEOUT", "finite number"),
    ({"THREADCAST_LOCK_TTL": "infinity"}, "THREADCAST_LOCK_TTL", "finite number"),
    # A base URL without a scheme started the bot; every message then failed with "the
    # agent's reply was cut off or unreadable".
    (
        {"THREADCAST_AGENT": "openai", "OPENAI_BASE_URL": "localhost:8000/v1"},
        "OPENAI_BASE_URL",
        "must be an http(s) URL (got 'localhost:8000/v1')",
    ),
    (
        {"LYZR_API_KEY": "k", "LYZR_AGENT_ID": "a", "LYZR_API_BASE": "agent-prod.studio.lyzr.ai"},
        "LYZR_API_BASE",
        "must be an http(s) URL (got 'agent-prod.studio.lyzr.ai')",
    ),
    (
        {"THREADCAST_AGENT": "openai", "OPENAI_BASE_URL": "proxy:8080/v1"},
        "OPENAI_BASE_URL",
        "(got 'proxy:8080/v1')",
    ),
    # The password of a URL's user info is not echoed (as in REDIS_URL's errors).
    (
        {"THREADCAST_AGENT": "openai", "OPENAI_BASE_URL": "https://ops:hunter2@"},
        "OPENAI_BASE_URL",
        "(got 'https://ops:***@')",
    ),
    (
        {"THREADCAST_FEEDBACK_URL": "ftp://ops:hunter2@votes.example"},
        "THREADCAST_FEEDBACK_URL",
        "(got 'ftp://ops:***@votes.example')",
    ),
    # A webhook URL without a host passed the start-up check; every vote then failed.
    ({"THREADCAST_FEEDBACK_URL": "https://"}, "THREADCAST_FEEDBACK_URL", "(got 'https://')"),
    # A list that never matches a host: the files it meant to allow were refused.
    (
        {"THREADCAST_ARTIFACT_ALLOW_HOSTS": "127.0.0.1 files.local"},
        "THREADCAST_ARTIFACT_ALLOW_HOSTS",
        "(got '127.0.0.1 files.local')",
    ),
    (
        {"THREADCAST_ARTIFACT_ALLOW_HOSTS": "files.local, http://127.0.0.1:8000"},
        "THREADCAST_ARTIFACT_ALLOW_HOSTS",
        "(got 'http://127.0.0.1:8000')",
    ),
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    return monkeypatch


@pytest.mark.parametrize(("env", "variable", "said"), BAD_VALUES)
def test_a_bad_value_is_one_line_naming_its_variable(
    tmp_path: Path,
    env: dict[str, str],
    variable: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = _threadcast_in_process(
        monkeypatch, capsys, console_env(tmp_path, None, **env), "ask", "hi"
    )
    assert run.status == 2, run.stderr
    assert run.stderr.startswith(f"threadcast: configuration error: {variable}: ")
    assert run.stderr.count("\n") == 1
    assert said in run.stderr
    assert "hunter2" not in run.stderr
    assert run.stdout == ""


async def test_an_infinite_ttl_stops_the_real_process_without_a_traceback(tmp_path: Path) -> None:
    run = await _threadcast(
        console_env(tmp_path, None, THREADCAST_SESSION_TTL="1e400"), "ask", "hi"
    )
    assert run.status == 2
    assert run.stderr == (
        "threadcast: configuration error: THREADCAST_SESSION_TTL: "
        "Input should be a finite number (got '1e400')\n"
    )
    assert run.stdout == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            '[[agents]]\nname = "a"\nbackend = "openai"\nbase_url = "localhost:8000"\n',
            "agents[0].base_url: must be an http(s) URL (got 'localhost:8000')",
        ),
        (
            '[[agents]]\nname = "a"\nbackend = "openai"\nidle_timeout = inf\n',
            "agents[0].idle_timeout: input should be a finite number (got inf)",
        ),
        (
            '[access.channels]\nallow = ["C1, C2"]\n',
            "access.channels.allow[0]: one id per item, without spaces or commas (got 'C1, C2')",
        ),
        (
            '[[agents]]\nname = "a"\nbackend = "demo"\n'
            '[[routes]]\nagent = "a"\nchannel = "C1 C2"\n',
            "routes[0].channel: one id per item, without spaces or commas (got 'C1 C2')",
        ),
    ],
)
def test_a_file_that_would_fail_only_once_up_is_refused_at_start(
    tmp_path: Path,
    text: str,
    problem: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad URL or an endless timeout failed every message; an id list written as one
    string matched no channel, so every conversation was refused once the bot was up."""
    assert _file_refused(tmp_path, text, monkeypatch, capsys) == problem


def test_spaces_around_allowed_hosts_and_ipv6_addresses_are_fine(
    clean_env: pytest.MonkeyPatch,
) -> None:
    hosts = " 127.0.0.1, ::1 ,[::1], files.local,"
    clean_env.setenv("THREADCAST_ARTIFACT_ALLOW_HOSTS", hosts)
    assert load_settings().artifact_allow_hosts == hosts


def test_keys_are_read_without_the_blanks_around_them(clean_env: pytest.MonkeyPatch) -> None:
    """A key pasted with a newline (a Secret made with echo) is the key; a blank one is no
    key, so the demo agent answers rather than Lyzr with a key of spaces."""
    clean_env.setenv("LYZR_API_KEY", "  ")
    assert load_settings().agent_kind == "demo"
    clean_env.setenv("LYZR_API_KEY", " lyzr-key\n")
    clean_env.setenv("LYZR_AGENT_ID", "a")
    clean_env.setenv("OPENAI_API_KEY", "sk-key\n")
    settings = load_settings()
    assert secret_value(settings.lyzr_api_key) == "lyzr-key"
    assert secret_value(settings.openai_api_key) == "sk-key"


def test_a_blank_signing_secret_is_no_secret(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    clean_env.setenv("SLACK_SIGNING_SECRET", " \n")
    with pytest.raises(ConfigError) as caught:
        load_slack_settings()
    assert caught.value.variable == "SLACK_SIGNING_SECRET"
    clean_env.setenv("SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5\n")
    secret = load_slack_settings().signing_secret
    assert secret_value(secret) == "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.mark.parametrize(
    ("load", "variable"),
    [
        (load_slack_settings, "SLACK_EDIT_INTERVAL"),
        (load_discord_settings, "DISCORD_CHANNEL_WINDOW"),
    ],
)
def test_the_bots_refuse_an_endless_number_too(
    clean_env: pytest.MonkeyPatch, load: object, variable: str
) -> None:
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    clean_env.setenv("SLACK_SIGNING_SECRET", "s")
    clean_env.setenv("DISCORD_TOKEN", "t")
    clean_env.setenv(variable, "inf")
    assert callable(load)
    with pytest.raises(ConfigError) as caught:
        load()
    assert caught.value.variable == variable


def test_an_empty_discord_url_is_unset_and_a_bad_one_is_named(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """.env.example lists `# DISCORD_API_URL=`: uncommented, it stopped the bot."""
    clean_env.setenv("DISCORD_TOKEN", "t")
    clean_env.setenv("DISCORD_API_URL", "")
    assert load_discord_settings().rest_base is None
    clean_env.setenv("DISCORD_GATEWAY_URL", "gateway.discord.gg")
    with pytest.raises(ConfigError) as caught:
        load_discord_settings()
    assert str(caught.value) == (
        "DISCORD_GATEWAY_URL: must be an http(s):// or ws(s):// URL (got 'gateway.discord.gg')"
    )


def test_an_empty_path_variable_is_an_unset_one(clean_env: pytest.MonkeyPatch) -> None:
    """``THREADCAST_DATA_DIR=`` (a line of an env file left blank) meant ".": the embedded
    Redis then kept its socket, lock files and AOF in the working directory."""
    for name in ("THREADCAST_DATA_DIR", "THREADCAST_CONFIG", "REDIS_CA_FILE"):
        clean_env.setenv(name, "")
    clean_env.setenv("THREADCAST_ARTIFACT_DIR", " ")
    settings = load_settings()
    assert (settings.data_dir, settings.config_file, settings.redis_ca_file) == (None, None, None)
    assert settings.artifact_dir == Path("threadcast-artifacts")


def test_blanks_around_an_id_are_not_part_of_it() -> None:
    rule = IdRule.model_validate({"allow": [" C1 ", 123]})
    assert rule.allow == ("C1", "123")


async def test_a_slack_host_that_does_not_resolve_is_named(redis_url: str) -> None:
    async with SlackSimulator() as sim:
        slack = SlackSettings(
            bot_token=sim.workspace.bot_token,
            api_url=sim.api_url,
            signing_secret=sim.app.signing_secret,
            host="not a host",
        )
        with pytest.raises(ConfigError) as caught:
            async with SlackService(Settings(redis_url=redis_url, agent="demo", port=0), slack):
                pass
    assert caught.value.variable == "SLACK_HOST"
    assert str(caught.value).startswith("SLACK_HOST: cannot listen on not a host:0: ")


async def test_a_port_in_use_stops_the_discord_bot_with_one_line(tmp_path: Path) -> None:
    """It was a traceback from the event loop (exit 1), after Redis had started."""
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = console_env(tmp_path, None, DISCORD_TOKEN="t0ken", PORT=str(port))
        run = await _threadcast(env, "discord")
    assert run.status == 2, run.stderr
    # The service logs JSON lines by default: its last line is one too.
    last = json.loads(run.stderr.splitlines()[-1])
    assert last["level"] == "CRITICAL"
    said = f"configuration error: PORT: cannot listen on 0.0.0.0:{port}: already in use"
    assert last["msg"] == said
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ["playground", "--no-browser", "--port", "99999"],
            "must be a port, 0 to 65535 (got 99999)",
        ),
        (["playground", "--no-browser", "--port", "http"], "must be a whole number (got 'http')"),
        (["usage", "--days", "week"], "argument --days: must be a whole number (got 'week')"),
    ],
)
def test_a_bad_command_line_value_is_a_usage_error(
    args: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].endswith(said)


def test_slack_oauth_credentials_in_the_environment_are_refused(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """bolt reads them itself and then authorises events from an empty installation
    store: the bot started and dropped every event."""
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    clean_env.setenv("SLACK_SIGNING_SECRET", "s")
    clean_env.setenv("SLACK_CLIENT_ID", "1.2")
    assert load_slack_settings().bot_token.get_secret_value() == "xoxb-1"  # one alone: unused
    clean_env.setenv("SLACK_CLIENT_SECRET", "")
    with pytest.raises(ConfigError) as caught:
        load_slack_settings()
    assert caught.value.variable == "SLACK_CLIENT_ID"


async def test_a_slack_start_logs_no_warning_about_its_own_token(
    redis_url: str, clean_env: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """bolt reads SLACK_BOT_TOKEN itself and warned on every start that it was unused."""
    async with SlackSimulator() as sim:
        clean_env.setenv("SLACK_BOT_TOKEN", sim.workspace.bot_token)
        clean_env.setenv("SLACK_API_URL", sim.api_url)
        clean_env.setenv("SLACK_SIGNING_SECRET", sim.app.signing_secret)
        clean_env.setenv("SLACK_HOST", "127.0.0.1")
        slack = load_slack_settings()
        with caplog.at_level(logging.WARNING):
            async with SlackService(Settings(redis_url=redis_url, agent="demo", port=0), slack):
                pass
    assert not [r for r in caplog.records if "`token` will be unused" in r.getMessage()]


def _file_refused(
    tmp_path: Path, text: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> str:
    """The problem ``threadcast ask`` names, in one configuration-error line (exit 2), for a
    ``threadcast.toml`` holding ``text``."""
    path = write(tmp_path / "threadcast.toml", text)
    env = console_env(tmp_path, None, THREADCAST_CONFIG=str(path), OPENAI_API_KEY="k")
    run = _threadcast_in_process(monkeypatch, capsys, env, "ask", "hi")
    assert run.status == 2
    prefix = f"threadcast: configuration error: {path}: "
    assert run.stderr.startswith(prefix) and run.stderr.endswith("\n")
    return run.stderr[len(prefix) : -1]
