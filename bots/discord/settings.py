"""The Discord bot's settings: its own pydantic-settings model, read from the environment.

Each field names its variable; the README's Discord section documents them all.
:func:`load_discord_settings` turns a bad value into one :class:`ConfigError` naming the
variable, like :func:`core.config.load_settings`.
"""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings

from adapters.discord import DiscordRates, bot_scope_key
from adapters.discord.surface import ArchiveMinutes
from core.config import SETTINGS_CONFIG, read_settings
from core.config import env_alias as _env
from core.errors import ConfigError

__all__ = ["DiscordSettings", "load_discord_settings"]


class DiscordSettings(BaseSettings):
    """``threadcast discord``'s settings (the core's are in :class:`core.config.Settings`)."""

    model_config = SETTINGS_CONFIG

    token: SecretStr = Field(validation_alias=_env("DISCORD_TOKEN"))
    """The bot token (Developer Portal → your application → Bot → Reset Token)."""
    api_url: str | None = Field(None, validation_alias=_env("DISCORD_API_URL"))
    """REST base, e.g. a REST proxy or the test simulator; ``/api/v10`` is added if absent."""
    gateway_url: str | None = Field(None, validation_alias=_env("DISCORD_GATEWAY_URL"))
    """Gateway websocket URL override."""
    message_content: bool = Field(False, validation_alias=_env("DISCORD_MESSAGE_CONTENT"))
    """Request the privileged MESSAGE_CONTENT intent (follow-ups without a mention)."""
    answer_bots: bool = Field(False, validation_alias=_env("DISCORD_ANSWER_BOTS"))
    """Answer messages from other bots too (never our own)."""
    thread_archive_minutes: ArchiveMinutes = Field(
        1440, validation_alias=_env("DISCORD_THREAD_ARCHIVE_MINUTES")
    )
    """Auto-archive of the threads the bot opens: 60, 1440, 4320 or 10080 minutes."""
    global_rate: float = Field(46.0, gt=0, le=50, validation_alias=_env("DISCORD_GLOBAL_RATE"))
    """Requests/s the whole bot may make (Discord allows 50 per token)."""
    global_burst: float = Field(3.0, ge=1, validation_alias=_env("DISCORD_GLOBAL_BURST"))
    channel_limit: int = Field(5, gt=0, validation_alias=_env("DISCORD_CHANNEL_LIMIT"))
    """Messages created or edited per channel (thread) per window."""
    channel_window: float = Field(5.0, gt=0, validation_alias=_env("DISCORD_CHANNEL_WINDOW"))
    api_timeout: float = Field(30.0, gt=0, validation_alias=_env("DISCORD_API_TIMEOUT"))
    """Seconds one REST call the bot makes outside a reply's posts and edits may take (a
    thread opened, a channel looked up, a note, a DM), and the start-up's log-in (two
    calls) and command sync (four); discord.py's own bound is aiohttp's 300 s."""
    command_guild: int | None = Field(None, validation_alias=_env("DISCORD_COMMAND_GUILD"))
    """Sync the commands to this guild instead of globally: instant, for development (a
    guild that has both offers each command twice)."""
    sync_commands: bool = Field(True, validation_alias=_env("DISCORD_SYNC_COMMANDS"))
    shard_id: int | None = Field(None, ge=0, validation_alias=_env("DISCORD_SHARD_ID"))
    shard_count: int | None = Field(None, gt=0, validation_alias=_env("DISCORD_SHARD_COUNT"))

    @field_validator("api_url", "gateway_url")
    @classmethod
    def _url(cls, value: str | None, info: ValidationInfo) -> str | None:
        value = (value or "").strip() or None  # an empty variable is an unset one
        if value is not None and not value.startswith(("http://", "https://", "ws://", "wss://")):
            variable = f"DISCORD_{str(info.field_name).upper()}"
            raise ConfigError(variable, f"must be an http(s):// or ws(s):// URL (got {value!r})")
        return value

    @property
    def rates(self) -> DiscordRates:
        return DiscordRates(
            global_rate=self.global_rate,
            global_burst=self.global_burst,
            channel_limit=self.channel_limit,
            channel_window=self.channel_window,
            bot_key=bot_scope_key(self.token.get_secret_value()),
        )

    @property
    def rest_base(self) -> str | None:
        """The value for ``discord.http.Route.BASE`` (which includes the API version)."""
        if self.api_url is None:
            return None
        base = self.api_url.rstrip("/")
        return base if "/api/v" in base else base + "/api/v10"


def load_discord_settings(**overrides: object) -> DiscordSettings:
    """Read the environment (plus ``overrides`` by field name) or raise one ConfigError."""
    settings = read_settings(
        DiscordSettings,
        overrides,
        hints={"token": "required (the bot token from the Developer Portal)"},
    )
    if (settings.shard_id is None) != (settings.shard_count is None):
        raise ConfigError(
            "DISCORD_SHARD_COUNT", "set DISCORD_SHARD_ID and DISCORD_SHARD_COUNT together"
        )
    shards = (settings.shard_id, settings.shard_count)
    if shards[0] is not None and shards[1] is not None and shards[0] >= shards[1]:
        raise ConfigError("DISCORD_SHARD_ID", "must be below DISCORD_SHARD_COUNT")
    if not settings.token.get_secret_value().strip():
        raise ConfigError("DISCORD_TOKEN", "is empty")
    return settings
