"""All configuration, read from the environment in one place.

Every field names its environment variable; the README's configuration reference lists
them all. :func:`load_settings` turns a bad value into one :class:`ConfigError` that names
the variable, so a misconfigured bot fails at startup with a sentence, not a traceback.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

__all__ = [
    "DEFAULT_NAMESPACE",
    "SETTINGS_CONFIG",
    "AgentKind",
    "BusyPolicy",
    "EventLoop",
    "LogFormat",
    "SessionScope",
    "Settings",
    "check_allow_hosts",
    "env_alias",
    "http_url",
    "http_url_problem",
    "load_settings",
    "secret_value",
    "shown_url",
]

AgentKind = Literal["lyzr", "openai", "demo"]
BusyPolicy = Literal["queue", "interrupt"]
SessionScope = Literal["thread", "channel", "user"]
S = TypeVar("S", bound=BaseSettings)
LogFormat = Literal["json", "text"]
EventLoop = Literal["auto", "uvloop", "asyncio"]
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

DEFAULT_NAMESPACE = "threadcast"
"""The Redis key prefix when ``THREADCAST_REDIS_NAMESPACE`` is not set: the one place it is
written. Every store's ``namespace`` argument defaults to it (sessions, recovery, budgets,
histories), so a part built without the runtime still finds the deployment's keys."""


def env_alias(name: str) -> AliasChoices:
    """The environment variable a settings field is read from: the one name errors use
    (:func:`read_settings`). Shared by every settings model (core, Slack, Discord)."""
    return AliasChoices(name)


def secret_value(secret: SecretStr | None) -> str | None:
    """The plain text of an optional secret, at the one place that sends it."""
    return None if secret is None else secret.get_secret_value()


_env = env_alias  # the short name the field table below uses

SETTINGS_CONFIG = SettingsConfigDict(extra="ignore", populate_by_name=True, allow_inf_nan=False)
"""Every settings model's config (core, Slack, Discord). ``allow_inf_nan=False``: a number
of seconds, bytes or calls is finite; ``inf`` (or ``1e400``) would pass ``gt=0`` and then
overflow, or never expire, long after start-up."""


def http_url(variable: str, value: str) -> str:
    """``value`` if it is an http(s) URL with a host, else a :class:`ConfigError` naming
    ``variable``: a bad base URL must stop the bot at start, not fail every message."""
    problem = http_url_problem(value)
    if problem is not None:
        raise ConfigError(variable, problem)
    return value.strip()


def http_url_problem(value: str) -> str | None:
    """What is wrong with ``value`` as an http(s) URL with a host (its password hidden),
    or None: the one check of the environment's URLs and ``threadcast.toml``'s."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"must be an http(s) URL (got {shown_url(value)!r})"
    return None


def shown_url(url: str) -> str:
    """``url`` with the password of its user info, if any, replaced by ``***`` (as
    REDIS_URL's errors show it): an error line goes to logs that others read."""
    return re.sub(r"(//[^/@:]*:)[^/@]*@", r"\1***@", url)


def check_allow_hosts(value: str) -> str:
    """``THREADCAST_ARTIFACT_ALLOW_HOSTS`` as written, once each item is a bare host name or
    address: a URL, a ``host:port`` or a space-separated list would never match a host,
    so the files the operator meant to allow would be refused on every reply."""
    for item in value.split(","):
        host = item.strip()
        bare = host.removeprefix("[").removesuffix("]")
        if not host or _is_ip(bare):
            continue
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", host):
            raise ConfigError(
                "THREADCAST_ARTIFACT_ALLOW_HOSTS",
                "comma-separated host names or IP addresses, without scheme, port or path "
                f"(got {item.strip()!r})",
            )
    return value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class Settings(BaseSettings):
    """threadcast's settings; field docs are the README's configuration reference."""

    model_config = SETTINGS_CONFIG

    # --- agent ---------------------------------------------------------------------------
    agent: AgentKind | None = Field(None, validation_alias=_env("THREADCAST_AGENT"))
    """Which agent backend answers; default lyzr when LYZR_API_KEY is set, else demo."""
    lyzr_api_key: SecretStr | None = Field(None, validation_alias=_env("LYZR_API_KEY"))
    lyzr_agent_id: str | None = Field(None, validation_alias=_env("LYZR_AGENT_ID"))
    lyzr_api_base: str = Field(
        "https://agent-prod.studio.lyzr.ai", validation_alias=_env("LYZR_API_BASE")
    )
    openai_base_url: str = Field(
        "https://api.openai.com/v1", validation_alias=_env("OPENAI_BASE_URL")
    )
    openai_api_key: SecretStr | None = Field(None, validation_alias=_env("OPENAI_API_KEY"))
    openai_model: str = Field("gpt-4o-mini", validation_alias=_env("OPENAI_MODEL"))
    openai_history_messages: int = Field(40, ge=0, validation_alias=_env("OPENAI_HISTORY_MESSAGES"))
    connect_timeout: float = Field(10.0, gt=0, validation_alias=_env("AGENT_CONNECT_TIMEOUT"))
    first_token_timeout: float = Field(
        180.0, gt=0, validation_alias=_env("AGENT_FIRST_TOKEN_TIMEOUT")
    )
    idle_timeout: float = Field(120.0, gt=0, validation_alias=_env("AGENT_IDLE_TIMEOUT"))
    agent_retries: int = Field(2, ge=0, validation_alias=_env("AGENT_RETRIES"))
    agent_max_connections: int = Field(500, ge=1, validation_alias=_env("AGENT_MAX_CONNECTIONS"))
    """Connections the agent client keeps open at once: one per streaming reply."""

    # --- sessions / Redis ----------------------------------------------------------------
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))
    redis_ca_file: Path | None = Field(None, validation_alias=_env("REDIS_CA_FILE"))
    """CA bundle (PEM) that signed the server's certificate, for a ``rediss://`` URL."""
    redis_cluster: bool = Field(False, validation_alias=_env("REDIS_CLUSTER"))
    """``REDIS_URL`` is a node of a Redis Cluster (the client follows the slot map)."""
    data_dir: Path | None = Field(None, validation_alias=_env("THREADCAST_DATA_DIR"))
    """Where the embedded Redis keeps its data; unset: ``$XDG_DATA_HOME/threadcast``
    (``~/.local/share/threadcast``), see :mod:`core.sessions.data_dir`."""
    redis_namespace: str = Field(
        DEFAULT_NAMESPACE, min_length=1, validation_alias=_env("THREADCAST_REDIS_NAMESPACE")
    )
    """Prefix of every Redis key of this deployment: bots sharing one Redis set different
    ones (letters, digits, ``.``, ``_``, ``-``)."""
    session_ttl: float = Field(
        30 * 24 * 3600.0, gt=0, validation_alias=_env("THREADCAST_SESSION_TTL")
    )
    session_scope: SessionScope = Field("thread", validation_alias=_env("THREADCAST_SESSION_SCOPE"))
    busy_policy: BusyPolicy = Field("queue", validation_alias=_env("THREADCAST_BUSY_POLICY"))
    lock_ttl: float = Field(30.0, gt=0, validation_alias=_env("THREADCAST_LOCK_TTL"))
    turn_timeout: float = Field(600.0, gt=0, validation_alias=_env("THREADCAST_TURN_TIMEOUT"))

    # --- replies -------------------------------------------------------------------------
    max_input_chars: int = Field(16_000, gt=0, validation_alias=_env("THREADCAST_MAX_INPUT_CHARS"))
    artifact_max_bytes: int = Field(
        25 * 1024 * 1024, gt=0, validation_alias=_env("THREADCAST_ARTIFACT_MAX_BYTES")
    )
    artifact_dir: Path = Field(
        Path("threadcast-artifacts"), validation_alias=_env("THREADCAST_ARTIFACT_DIR")
    )
    artifact_allow_hosts: str = Field("", validation_alias=_env("THREADCAST_ARTIFACT_ALLOW_HOSTS"))
    """Comma-separated hosts whose files may be fetched although their address is internal."""
    context_messages: int = Field(50, ge=0, validation_alias=_env("THREADCAST_CONTEXT_MESSAGES"))
    """Earlier thread messages given to the agent with a turn (newest kept); 0: none."""
    context_chars: int = Field(16_000, ge=0, validation_alias=_env("THREADCAST_CONTEXT_CHARS"))
    """Characters of earlier messages given to the agent with a turn."""
    input_files: int = Field(5, ge=0, validation_alias=_env("THREADCAST_INPUT_FILES"))
    """Files of the user's message passed to the agent; 0: none."""
    input_file_max_bytes: int = Field(
        20 * 1024 * 1024, gt=0, validation_alias=_env("THREADCAST_INPUT_FILE_MAX_BYTES")
    )
    log_level: str = Field("WARNING", validation_alias=_env("THREADCAST_LOG_LEVEL"))
    """Python logging level for the process (DEBUG, INFO, WARNING, ERROR, CRITICAL)."""
    shared_budgets: bool = Field(False, validation_alias=_env("THREADCAST_SHARED_BUDGETS"))
    """Keep edit budgets in Redis so replicas sharing one token share one budget."""

    feedback: bool = Field(True, validation_alias=_env("THREADCAST_FEEDBACK"))
    """Put 👍 / 👎 controls on every completed reply and record the votes."""
    feedback_url: str | None = Field(None, validation_alias=_env("THREADCAST_FEEDBACK_URL"))
    """A webhook each vote is POSTed to as JSON (retried with backoff, never blocking)."""

    # --- operations ----------------------------------------------------------------------
    recovery_interval: float = Field(
        5.0, gt=0, validation_alias=_env("THREADCAST_RECOVERY_INTERVAL")
    )
    """Seconds between scans for replies orphaned by a dead replica."""
    recovery_ttl: float = Field(15.0, gt=0, validation_alias=_env("THREADCAST_RECOVERY_TTL"))
    """Seconds a streaming reply stays registered without a heartbeat; an orphan is
    finalised within THREADCAST_RECOVERY_TTL + THREADCAST_RECOVERY_INTERVAL."""
    port: int = Field(3000, ge=0, le=65535, validation_alias=_env("PORT"))
    """HTTP port of every bot: /healthz, /readyz, /metrics (and Slack's /slack/events)."""
    shutdown_grace: float = Field(25.0, ge=0, validation_alias=_env("THREADCAST_SHUTDOWN_GRACE"))
    """Seconds replies in flight get to finish on SIGTERM before they are interrupted."""
    log_format: LogFormat | None = Field(None, validation_alias=_env("THREADCAST_LOG_FORMAT"))
    """``json`` or ``text``; unset: json for the platform bots, text for chat/ask."""
    event_loop: EventLoop = Field("auto", validation_alias=_env("THREADCAST_EVENT_LOOP"))
    """The ``slack``/``discord`` services' event loop: ``auto`` (uvloop where it is
    installed, else asyncio's), ``uvloop`` (required) or ``asyncio``."""

    response_format: str | None = Field(None, validation_alias=_env("THREADCAST_RESPONSE_FORMAT"))
    """``module:Model`` — a pydantic model every reply is parsed into (structured output)."""

    config_file: Path | None = Field(None, validation_alias=_env("THREADCAST_CONFIG"))
    """The TOML file of agents, routes, access and quotas (default: ./threadcast.toml when
    it exists); see :mod:`core.deployment`."""

    @field_validator("lyzr_api_key", "openai_api_key", mode="before")
    @classmethod
    def _unset_if_empty(cls, value: object) -> object:
        # An empty (or blank) variable is an unset one; a key pasted with a newline or a
        # space around it is the key (a header with one would fail every request).
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("data_dir", "config_file", "redis_ca_file", mode="before")
    @classmethod
    def _no_path_if_blank(cls, value: object) -> object:
        # An empty variable is an unset one: Path("") is ".", which put the embedded
        # Redis's files in the working directory and read "." as THREADCAST_CONFIG.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("artifact_dir", mode="before")
    @classmethod
    def _default_dir_if_blank(cls, value: object) -> object:
        blank = isinstance(value, str) and not value.strip()
        return cls.model_fields["artifact_dir"].default if blank else value  # one default

    @field_validator("lyzr_api_base")
    @classmethod
    def _lyzr_url(cls, value: str) -> str:
        return http_url("LYZR_API_BASE", value)

    @field_validator("openai_base_url")
    @classmethod
    def _openai_url(cls, value: str) -> str:
        return http_url("OPENAI_BASE_URL", value)

    @field_validator("artifact_allow_hosts")
    @classmethod
    def _allow_hosts(cls, value: str) -> str:
        return check_allow_hosts(value)

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in _LOG_LEVELS:
            expected = ", ".join(_LOG_LEVELS)
            raise ConfigError("THREADCAST_LOG_LEVEL", f"must be one of {expected} (got {value!r})")
        return level

    @field_validator("feedback_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        value = (value or "").strip() or None
        return None if value is None else http_url("THREADCAST_FEEDBACK_URL", value)

    @field_validator("redis_namespace")
    @classmethod
    def _plain_namespace(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", value):
            raise ConfigError(
                "THREADCAST_REDIS_NAMESPACE",
                f"use letters, digits, '.', '_' and '-' only (got {value!r})",
            )
        return value

    @model_validator(mode="after")
    def _check_agent(self) -> Settings:
        if self.agent is None:
            self.agent = "lyzr" if self.lyzr_api_key else "demo"
        if self.agent == "lyzr":
            if not self.lyzr_api_key:
                raise ConfigError("LYZR_API_KEY", "required when THREADCAST_AGENT=lyzr")
            if not self.lyzr_agent_id:
                raise ConfigError("LYZR_AGENT_ID", "required when the Lyzr agent is used")
        return self

    @property
    def response_model(self) -> type[BaseModel] | None:
        """The model named by ``THREADCAST_RESPONSE_FORMAT``, imported (checked at load)."""
        return load_model(self.response_format) if self.response_format else None

    @property
    def agent_kind(self) -> AgentKind:
        assert self.agent is not None  # set by _check_agent
        return self.agent


def load_model(spec: str) -> type[BaseModel]:
    """Import ``module:Model`` and check it is a pydantic model."""
    module_name, _, name = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), name) if name else None
    except (ImportError, AttributeError) as exc:
        raise ConfigError("THREADCAST_RESPONSE_FORMAT", f"cannot import {spec!r}: {exc}") from None
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise ConfigError(
            "THREADCAST_RESPONSE_FORMAT", f"{spec!r} is not a pydantic model (module:Model)"
        )
    return found


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus ``overrides`` by field name) or raise one ConfigError."""
    settings = read_settings(Settings, overrides)
    _ = settings.response_model  # a bad model path fails at start-up, not on a message
    return settings


def read_settings(
    model: type[S], overrides: Mapping[str, object], *, hints: Mapping[str, str] | None = None
) -> S:
    """Build any settings ``model`` from the environment, turning a validation failure into
    one :class:`ConfigError` that names the environment variable (shared by the core's and
    each bot's settings). ``hints`` says, per field, what to set when it is missing; a
    ``SecretStr`` field's value is never echoed."""
    try:
        return model(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        context = first.get("ctx") or {}
        if isinstance(context.get("error"), ConfigError):
            raise context["error"] from None
        field = _field_of(model, str(first["loc"][0])) if first["loc"] else "?"
        variable = _variable_of(model, field)
        if first["type"] == "missing":
            hint = (hints or {}).get(field, "required but not set")
            raise ConfigError(variable, hint) from None
        info = model.model_fields.get(field)
        secret = info is not None and "SecretStr" in str(info.annotation)
        shown = "***" if secret else repr(first.get("input"))
        raise ConfigError(variable, f"{first['msg']} (got {shown})") from None


def _field_of(model: type[BaseSettings], key: str) -> str:
    """The field a validation error's location names: pydantic reports a value read from
    the environment by its variable (the alias), one given by name by the field's name."""
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        if key == name or (isinstance(alias, AliasChoices) and key in alias.choices):
            return name
    return key


def _variable_of(model: type[BaseSettings], field: str) -> str:
    info = model.model_fields.get(field)
    if info is not None and isinstance(info.validation_alias, AliasChoices):
        first = info.validation_alias.choices[0]
        if isinstance(first, str):
            return first
    return field.upper()
