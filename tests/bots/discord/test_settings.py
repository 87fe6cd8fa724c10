"""DISCORD_* settings: defaults, the REST base, and one clear error per bad variable."""

from __future__ import annotations

import pytest

from bots.discord import load_discord_settings
from core.errors import ConfigError


def test_defaults_and_rest_base(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "t0ken")
    settings = load_discord_settings()
    assert settings.token.get_secret_value() == "t0ken" and "t0ken" not in repr(settings)
    assert settings.rest_base is None and settings.gateway_url is None
    assert not settings.message_content and not settings.answer_bots
    assert settings.thread_archive_minutes == 1440
    assert settings.rates.bot.rate == 46.0
    proxied = load_discord_settings(api_url="http://proxy:8080/")
    assert proxied.rest_base == "http://proxy:8080/api/v10"
    versioned = load_discord_settings(api_url="http://proxy:8080/api/v9")
    assert versioned.rest_base == "http://proxy:8080/api/v9"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "DISCORD_TOKEN"),
        ({"DISCORD_TOKEN": "  "}, "DISCORD_TOKEN"),
        (
            {"DISCORD_TOKEN": "t", "DISCORD_THREAD_ARCHIVE_MINUTES": "30"},
            "DISCORD_THREAD_ARCHIVE_MINUTES",
        ),
        ({"DISCORD_TOKEN": "t", "DISCORD_GLOBAL_RATE": "80"}, "DISCORD_GLOBAL_RATE"),
        ({"DISCORD_TOKEN": "t", "DISCORD_API_URL": "discord.local"}, "DISCORD_API_URL"),
        ({"DISCORD_TOKEN": "t", "DISCORD_API_TIMEOUT": "0"}, "DISCORD_API_TIMEOUT"),
        ({"DISCORD_TOKEN": "t", "DISCORD_SHARD_ID": "1"}, "DISCORD_SHARD_COUNT"),
        (
            {"DISCORD_TOKEN": "t", "DISCORD_SHARD_ID": "2", "DISCORD_SHARD_COUNT": "2"},
            "DISCORD_SHARD_ID",
        ),
        ({"DISCORD_TOKEN": "t", "DISCORD_MESSAGE_CONTENT": "maybe"}, "DISCORD_MESSAGE_CONTENT"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], variable: str
) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as error:
        load_discord_settings()
    assert error.value.variable == variable
    assert "t0ken" not in str(error.value)


def test_a_missing_token_says_where_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(ConfigError) as error:
        load_discord_settings()
    assert str(error.value) == ("DISCORD_TOKEN: required (the bot token from the Developer Portal)")
