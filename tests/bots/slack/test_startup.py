"""Start-up: one clear error naming the variable, the token checked with auth.test, and a
clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal

import aiohttp
import pytest

from bots.cli import main
from bots.simulators.slack import SlackSimulator
from bots.slack.app import SlackService, run_slack
from bots.slack.settings import load_slack_settings
from core.config import Settings
from core.errors import ConfigError
from tests.bots.slack.conftest import slack_settings
from tests.redis_server import free_port

SLACK_VARIABLES = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_STREAMING",
    "PORT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SLACK_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-a-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-2"}, "SLACK_APP_TOKEN"),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_STREAMING": "x"},
            "SLACK_STREAMING",
        ),
        (
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "slack"},
            "SLACK_API_URL",
        ),
    ],
)
def test_bad_settings_name_the_variable(
    env: dict[str, str], variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_slack_settings()
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")


def test_modes_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = load_slack_settings()
    assert settings.socket_mode and Settings().port == 3000
    assert settings.api_url == "https://slack.com/api/" and settings.streaming == "edit"
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    assert load_slack_settings().api_url == "http://127.0.0.1:9/api/"


def test_cli_reports_a_missing_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["slack"]) == 2
    assert "SLACK_BOT_TOKEN: required but not set" in capsys.readouterr().err


async def test_invalid_token_is_reported_as_such(sim: SlackSimulator, redis_url: str) -> None:
    slack = slack_settings(sim, "http", bot_token="xoxb-not-a-real-token")
    with pytest.raises(ConfigError) as caught:
        async with SlackService(Settings(redis_url=redis_url, port=0), slack):
            pass
    assert caught.value.variable == "SLACK_BOT_TOKEN"
    assert "invalid_auth" in str(caught.value)


async def test_bad_app_token_is_reported_as_such(sim: SlackSimulator, redis_url: str) -> None:
    slack = slack_settings(sim, "socket", app_token="xapp-1-not-the-app-token")
    with pytest.raises(ConfigError) as caught:
        async with SlackService(Settings(redis_url=redis_url, agent="demo", port=0), slack):
            pass
    assert caught.value.variable == "SLACK_APP_TOKEN"


async def test_unreachable_api_is_reported(redis_url: str) -> None:
    async with SlackSimulator() as gone:
        slack = slack_settings(gone, "http", api_timeout=2.0)
    with pytest.raises(ConfigError) as caught:
        async with SlackService(Settings(redis_url=redis_url, port=0), slack):
            pass
    assert caught.value.variable == "SLACK_API_URL"


async def test_run_slack_serves_until_sigterm(
    sim: SlackSimulator, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    monkeypatch.setenv("SLACK_BOT_TOKEN", sim.workspace.bot_token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", sim.app.signing_secret)
    monkeypatch.setenv("SLACK_API_URL", sim.api_url)
    monkeypatch.setenv("SLACK_HOST", "127.0.0.1")
    monkeypatch.setenv("PORT", str(port))
    running = asyncio.create_task(run_slack(Settings(redis_url=redis_url, agent="demo")))
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    assert (await response.json())["ok"]
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the bot never answered its health check")
    os.kill(os.getpid(), signal.SIGTERM)
    assert await asyncio.wait_for(running, 5) == 0
    assert sim.calls("auth.test")[0].ok


async def test_a_slack_outage_at_start_up_is_not_blamed_on_the_token() -> None:
    async with SlackSimulator() as sim:
        sim.fail_next("auth.test", "internal_error", status=500)
        with pytest.raises(ConfigError) as failure:
            async with SlackService(Settings(), slack_settings(sim, "http")):
                pass
    assert failure.value.variable == "SLACK_API_URL"
