"""Every token, key and signing secret is a SecretStr: printing or logging a settings
object (a traceback's locals, a debug line) never shows one."""

from __future__ import annotations

import pytest
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings

from bots.discord.settings import load_discord_settings
from bots.slack.settings import load_slack_settings
from core.config import SETTINGS_CONFIG, env_alias, load_settings, read_settings
from core.errors import ConfigError

SECRETS = {
    "lyzr_api_key": "lyzr-key-do-not-show",
    "openai_api_key": "sk-openai-do-not-show",
}


def test_agent_keys_are_hidden() -> None:
    settings = load_settings(agent="lyzr", lyzr_agent_id="a1", **SECRETS)
    shown = f"{settings!r} {settings} {settings.model_dump()}"
    for secret in SECRETS.values():
        assert secret not in shown
    assert settings.lyzr_api_key is not None
    assert settings.lyzr_api_key.get_secret_value() == SECRETS["lyzr_api_key"]


def test_an_empty_key_is_an_unset_one() -> None:
    assert load_settings(agent="demo", lyzr_api_key="").lyzr_api_key is None


def test_slack_tokens_and_signing_secret_are_hidden() -> None:
    given = {
        "bot_token": "xoxb-1-do-not-show",
        "app_token": "xapp-1-do-not-show",
        "signing_secret": "signing-do-not-show",
    }
    slack = load_slack_settings(**given)
    shown = f"{slack!r} {slack} {slack.model_dump()}"
    for secret in given.values():
        assert secret not in shown
    assert slack.socket_mode


def test_the_discord_token_is_hidden() -> None:
    discord = load_discord_settings(token="discord-do-not-show")
    assert "discord-do-not-show" not in repr(discord)


class _Keyed(BaseSettings):
    model_config = SETTINGS_CONFIG
    key: SecretStr = Field(min_length=20, validation_alias=env_alias("THREADCAST_TEST_KEY"))


def test_a_refused_secret_read_from_the_environment_is_not_echoed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # pydantic names a value read from the environment by its variable, not its field:
    # the error must still know the field is a secret.
    monkeypatch.setenv("THREADCAST_TEST_KEY", "short-do-not-show")
    with pytest.raises(ConfigError) as error:
        read_settings(_Keyed, {})
    assert error.value.variable == "THREADCAST_TEST_KEY"
    assert "do-not-show" not in str(error.value) and "***" in str(error.value)
