"""The shape of ``threadcast.toml``: every key the file may hold, validated by pydantic.

Only the shape lives here (types, ranges, unknown keys refused); rules that relate keys to
each other or to the environment (an agent a route names must exist, a key variable must
be set) are checked by :mod:`core.deployment.load`, which also turns any failure into one
error naming the file and the key path. Every model is frozen: one validated file is one
immutable value, swapped whole on reload, never edited.

Ids may be written as strings or as integers (Discord's snowflakes are numbers; TOML
users write them bare): they are kept as strings either way.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from core.config import http_url_problem

__all__ = [
    "AccessSpec",
    "AgentBackend",
    "AgentSpec",
    "FileConfig",
    "IdRule",
    "QuotaSpec",
    "RouteSpec",
    "StopPolicy",
    "UsageSpec",
]

AgentBackend = Literal["lyzr", "openai", "demo"]
StopPolicy = Literal["asker", "anyone"]
Platform = Literal["slack", "discord", "console"]


def _id_text(value: object) -> object:
    # bool is an int subclass: `true` is not an id, let pydantic refuse it.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value.strip() if isinstance(value, str) else value  # "C123 " is C123


def _one_id(value: str) -> str:
    # "C1, C2" (or "C1 C2") in one string is no id: as an allow list it would match
    # nothing, and the bot would refuse every conversation it was meant to allow.
    if re.search(r"[\s,]", value):
        raise ValueError(f"one id per item, without spaces or commas (got {value!r})")
    return value


Id = Annotated[
    str,
    BeforeValidator(_id_text),
    StringConstraints(min_length=1, max_length=200),
    AfterValidator(_one_id),
]
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
"""An agent's or a route's name: it shows in metrics, logs and the usage table."""


def _http_url(value: str) -> str:
    problem = http_url_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value.strip()


HttpUrl = Annotated[str, AfterValidator(_http_url)]
"""An agent's API base: checked when the file is read, not on the first message."""
EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]


class _Section(BaseModel):
    # allow_inf_nan: TOML has `inf`; a timeout of it would never fire.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class AgentSpec(_Section):
    """One agent. Unset fields take the environment's value (``AGENT_*``, ``LYZR_*``,
    ``OPENAI_*``), so a file agent differs from the environment's only where it says so."""

    name: Name
    backend: AgentBackend
    agent_id: str | None = None
    """Lyzr: the agent to run (required)."""
    api_key_env: EnvName | None = None
    """The environment variable holding the key (default LYZR_API_KEY / OPENAI_API_KEY)."""
    base_url: HttpUrl | None = None
    """Lyzr: the API base (LYZR_API_BASE); OpenAI: the server (OPENAI_BASE_URL)."""
    model: str | None = None
    system_prompt: str | None = None
    history_messages: int | None = Field(None, ge=0)
    connect_timeout: float | None = Field(None, gt=0)
    first_token_timeout: float | None = Field(None, gt=0)
    idle_timeout: float | None = Field(None, gt=0)
    retries: int | None = Field(None, ge=0)
    max_connections: int | None = Field(None, ge=1)


class RouteSpec(_Section):
    """Which agent answers where: every key given must match; the first route that
    matches a conversation's first message wins."""

    agent: Name
    name: Name | None = None
    """Shown in the usage table (default ``routes[<index>]``)."""
    platform: Platform | None = None
    workspace: Id | None = None
    """A Slack team id or a Discord guild id (``dm`` for Discord DMs)."""
    channel: Id | None = None
    """A channel id; on Discord a thread matches through the channel it was opened in."""
    dm: bool | None = None
    """``true``: direct messages only; ``false``: never direct messages."""


class IdRule(_Section):
    """An allow list and a deny list of ids; an empty allow list allows everyone."""

    allow: tuple[Id, ...] = ()
    deny: tuple[Id, ...] = ()


class AccessSpec(_Section):
    users: IdRule = IdRule()
    channels: IdRule = IdRule()
    workspaces: IdRule = IdRule()
    roles: IdRule = IdRule()
    """Discord role ids."""
    dms: bool = True
    admins: tuple[Id, ...] = ()
    """User ids that may stop or reset any conversation; exempt from quotas."""
    stop: StopPolicy = "asker"
    """Who may stop a reply (and reset a conversation): its asker (and admins), or anyone."""


class QuotaSpec(_Section):
    user_turns_per_hour: int = Field(0, ge=0)
    channel_turns_per_hour: int = Field(0, ge=0)
    user_concurrent_replies: int = Field(0, ge=0)


class UsageSpec(_Section):
    retention_days: int = Field(90, ge=1, le=3650)
    """Days a day's usage figures are kept in Redis."""


class FileConfig(_Section):
    """The whole file."""

    default_agent: Name | None = None
    """The agent that answers where no route matches (default: the first agent)."""
    agents: tuple[AgentSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    access: AccessSpec = AccessSpec()
    quotas: QuotaSpec = QuotaSpec()
    usage: UsageSpec = UsageSpec()
