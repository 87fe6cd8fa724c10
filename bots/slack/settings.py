"""The Slack bot's settings, read from the environment (documented in the README's Slack
section). :func:`load_slack_settings` turns any bad value into one :class:`ConfigError`
naming the variable, like :func:`core.config.load_settings`.

Mode: with ``SLACK_APP_TOKEN`` the bot connects over Socket Mode; otherwise it serves HTTP
(``POST /slack/events``) and then needs ``SLACK_SIGNING_SECRET``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings

from adapters.slack.client import DEFAULT_API_URL, normalise_api_url
from adapters.slack.config import RenderMode, StreamingMode, SurfaceConfig, ThinkingMode
from bots.slack.assistant import AssistantOptions, parse_prompts
from core.config import SETTINGS_CONFIG, read_settings
from core.config import env_alias as _env
from core.errors import ConfigError

__all__ = ["SlackSettings", "load_slack_settings"]


class SlackSettings(BaseSettings):
    """``SLACK_*`` variables; see the README's Slack section (``PORT`` is in core Settings)."""

    model_config = SETTINGS_CONFIG

    bot_token: SecretStr = Field(validation_alias=_env("SLACK_BOT_TOKEN"))
    app_token: SecretStr | None = Field(None, validation_alias=_env("SLACK_APP_TOKEN"))
    signing_secret: SecretStr | None = Field(None, validation_alias=_env("SLACK_SIGNING_SECRET"))
    host: str = Field("0.0.0.0", validation_alias=_env("SLACK_HOST"))
    api_url: str = Field(DEFAULT_API_URL, validation_alias=_env("SLACK_API_URL"))
    streaming: StreamingMode = Field("edit", validation_alias=_env("SLACK_STREAMING"))
    thinking: ThinkingMode = Field("auto", validation_alias=_env("SLACK_THINKING"))
    render: RenderMode = Field("markdown", validation_alias=_env("SLACK_RENDER"))
    follow_ups: bool = Field(True, validation_alias=_env("SLACK_FOLLOW_UPS"))
    """Answer replies in a thread the bot has a conversation in, without a new mention."""
    answer_bots: bool = Field(False, validation_alias=_env("SLACK_ANSWER_BOTS"))
    update_per_minute: float = Field(50.0, gt=0, validation_alias=_env("SLACK_UPDATE_PER_MINUTE"))
    append_per_minute: float = Field(100.0, gt=0, validation_alias=_env("SLACK_APPEND_PER_MINUTE"))
    start_per_minute: float = Field(20.0, gt=0, validation_alias=_env("SLACK_START_PER_MINUTE"))
    """chat.startStream per workspace-minute (Tier 2, 20+): replies beyond it are edited."""
    edit_interval: float = Field(1.0, gt=0, validation_alias=_env("SLACK_EDIT_INTERVAL"))
    max_file_bytes: int = Field(1024**3, gt=0, validation_alias=_env("SLACK_MAX_FILE_BYTES"))
    api_timeout: float = Field(10.0, gt=0, validation_alias=_env("SLACK_API_TIMEOUT"))
    assistant: bool = Field(False, validation_alias=_env("SLACK_ASSISTANT"))
    """Serve Slack's AI app surface (assistant threads); the app needs assistant_view."""
    assistant_greeting: str = Field(
        "Hi! Ask me anything.", validation_alias=_env("SLACK_ASSISTANT_GREETING")
    )
    assistant_prompts: str = Field("", validation_alias=_env("SLACK_ASSISTANT_PROMPTS"))
    """Suggested prompts, ``title=message;title=message`` (at most four)."""

    @field_validator("bot_token", mode="before")
    @classmethod
    def _bot_token(cls, value: object) -> object:
        value = _plain(value).strip()
        if not value.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN", "must be a bot token (starting with xoxb-)")
        return value

    @field_validator("app_token", mode="before")
    @classmethod
    def _app_token(cls, value: object) -> object:
        value = _plain(value).strip() or None
        if value is not None and not value.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN", "must be an app-level token (starting with xapp-)")
        return value

    @field_validator("signing_secret", mode="before")
    @classmethod
    def _signing_secret(cls, value: object) -> object:
        # A blank variable is an unset one; spaces or a newline around the secret (a
        # Secret made with echo) would make every request's signature check fail.
        return _plain(value).strip() or None

    @field_validator("api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ConfigError("SLACK_API_URL", f"must be an http(s) URL (got {value!r})")
        return normalise_api_url(value)

    @field_validator("assistant_prompts")
    @classmethod
    def _prompts(cls, value: str) -> str:
        try:
            parse_prompts(value)
        except ValueError as exc:
            raise ConfigError("SLACK_ASSISTANT_PROMPTS", str(exc)) from None
        return value

    def assistant_options(self) -> AssistantOptions | None:
        """The assistant surface's options, or None when ``SLACK_ASSISTANT`` is off."""
        if not self.assistant:
            return None
        return AssistantOptions(self.assistant_greeting, parse_prompts(self.assistant_prompts))

    @model_validator(mode="after")
    def _mode(self) -> SlackSettings:
        if self.app_token is None and not self.signing_secret:
            raise ConfigError(
                "SLACK_SIGNING_SECRET",
                "required in HTTP mode (or set SLACK_APP_TOKEN to use Socket Mode)",
            )
        return self

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def surface_config(self) -> SurfaceConfig:
        return SurfaceConfig(
            streaming=self.streaming,
            render=self.render,
            thinking=self.thinking,
            update_per_minute=self.update_per_minute,
            append_per_minute=self.append_per_minute,
            start_per_minute=self.start_per_minute,
            min_edit_interval=self.edit_interval,
            max_file_bytes=self.max_file_bytes,
            call_timeout=self.api_timeout,
        )


def load_slack_settings(**overrides: object) -> SlackSettings:
    """Read the environment (plus ``overrides`` by field name) or raise one ConfigError."""
    settings = read_settings(SlackSettings, overrides)
    _no_oauth_install(os.environ)
    return settings


def _no_oauth_install(environ: Mapping[str, str]) -> None:
    """Refuse ``SLACK_CLIENT_ID`` with ``SLACK_CLIENT_SECRET``: bolt reads them from the
    environment itself (set at all, even empty) and then serves an OAuth-installed app,
    authorising each event from a file installation store that holds no workspace, so the
    bot would start and then drop every event. threadcast is one workspace's app."""
    if "SLACK_CLIENT_ID" in environ and "SLACK_CLIENT_SECRET" in environ:
        raise ConfigError(
            "SLACK_CLIENT_ID",
            "unset it and SLACK_CLIENT_SECRET: with both set, Slack's bolt expects an "
            "OAuth-installed app and drops every event (threadcast uses SLACK_BOT_TOKEN)",
        )


def _plain(value: object) -> str:
    """A token as given: text from the environment, or a SecretStr from code."""
    if value is None:
        return ""
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)
