"""Read and check ``threadcast.toml`` into a :class:`Deployment`, or say exactly what is wrong.

Where the file is: ``THREADCAST_CONFIG`` (it must exist), else ``threadcast.toml`` in the
working directory when there is one, else no file: the environment alone describes one
agent, named ``default``, and nothing is restricted (threadcast's behaviour before the
file existed).

Every problem is one :class:`ConfigFileError` naming the file and the key path, zero-based
as the file is read (``threadcast.toml: routes[2].agent: unknown agent 'suport'``): the
shape by pydantic (:mod:`core.deployment.schema`), then the rules between keys, then the
environment (an agent's key variable must be set; secrets never live in the file).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from core.config import Settings
from core.deployment.schema import AccessSpec, AgentSpec, FileConfig
from core.errors import ConfigError

__all__ = [
    "DEFAULT_FILE",
    "ENV_AGENT",
    "ConfigFileError",
    "Deployment",
    "agent_keys",
    "config_path",
    "load_deployment",
]

DEFAULT_FILE = Path("threadcast.toml")
ENV_AGENT = "default"
"""The name of the agent the environment describes when the file defines none."""

_SECRET_WORDS = ("key", "token", "secret", "password")
_BACKEND_KEY_ENV = {"lyzr": "LYZR_API_KEY", "openai": "OPENAI_API_KEY"}


class ConfigFileError(ConfigError):
    """The configuration file is unreadable or invalid: ``file: path: problem``."""

    def __init__(self, file: Path, path: str, problem: str) -> None:
        self.file = file
        self.path = path
        super().__init__(f"{file}: {path}" if path else str(file), problem)


@dataclass(frozen=True, slots=True)
class Deployment:
    """One checked configuration: the file's (or the environment's) agents, routes, access
    rules, quotas and usage retention. ``agents`` is never empty."""

    config: FileConfig
    default_agent: str
    source: Path | None = None

    @property
    def agents(self) -> tuple[AgentSpec, ...]:
        return self.config.agents

    def agent_names(self) -> tuple[str, ...]:
        return tuple(agent.name for agent in self.config.agents)


def config_path(settings: Settings) -> Path | None:
    """The file to read: ``THREADCAST_CONFIG``, else ``./threadcast.toml`` if it exists."""
    if settings.config_file is not None:
        return settings.config_file
    return DEFAULT_FILE if DEFAULT_FILE.is_file() else None


def load_deployment(settings: Settings, environ: Mapping[str, str]) -> Deployment:
    """The configuration in force for ``settings``; raises :class:`ConfigFileError`."""
    path = config_path(settings)
    if path is None:
        # No file: the behaviour from before the file existed (anyone may press Stop).
        unrestricted = FileConfig(access=AccessSpec(stop="anyone"))
        return _checked(unrestricted, settings, environ, source=None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigFileError(path, "", "no such file (THREADCAST_CONFIG)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigFileError(path, "", f"cannot read it: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(path, "", f"not valid TOML: {exc}") from None
    try:
        config = FileConfig.model_validate(raw)
    except ValidationError as exc:
        key, problem = _first_problem(exc)
        raise ConfigFileError(path, key, problem) from None
    return _checked(config, settings, environ, source=path)


def _checked(
    config: FileConfig, settings: Settings, environ: Mapping[str, str], *, source: Path | None
) -> Deployment:
    if not config.agents:
        config = config.model_copy(update={"agents": (_env_agent(settings),)})
    problem = _agent_problem(config.agents, settings, environ) or _reference_problem(config)
    if problem is not None:
        key, text = problem
        if source is None:  # the environment's agent: ConfigError already names variables
            raise ConfigError(key, text)
        raise ConfigFileError(source, key, text)
    default = config.default_agent or config.agents[0].name
    return Deployment(config=config, default_agent=default, source=source)


def agent_keys(deployment: Deployment, environ: Mapping[str, str] | None = None) -> list[str]:
    """The values of the agents' key variables (for the logs' redaction)."""
    values = environ if environ is not None else os.environ
    names = {agent.api_key_env for agent in deployment.agents if agent.api_key_env}
    return [values[name] for name in sorted(names) if values.get(name)]


def _env_agent(settings: Settings) -> AgentSpec:
    backend = settings.agent_kind
    return AgentSpec(
        name=ENV_AGENT,
        backend=backend,
        agent_id=settings.lyzr_agent_id if backend == "lyzr" else None,
    )


Problem = tuple[str, str]


def _agent_problem(
    agents: Sequence[AgentSpec], settings: Settings, environ: Mapping[str, str]
) -> Problem | None:
    seen: dict[str, int] = {}
    for index, agent in enumerate(agents):
        at = f"agents[{index}]"
        if agent.name in seen:
            return f"{at}.name", f"{agent.name!r} already names agents[{seen[agent.name]}]"
        seen[agent.name] = index
        misplaced = _misplaced_key(agent)
        if misplaced is not None:
            return f"{at}.{misplaced[0]}", misplaced[1]
        if agent.backend == "lyzr" and not agent.agent_id:
            return f"{at}.agent_id", "required for backend 'lyzr'"
        missing = _missing_key(agent, settings, environ)
        if missing is not None:
            return f"{at}.api_key_env", missing
    return None


def _misplaced_key(agent: AgentSpec) -> Problem | None:
    only: dict[str, tuple[str, ...]] = {
        "agent_id": ("lyzr",),
        "model": ("openai",),
        "system_prompt": ("openai",),
        "history_messages": ("openai", "demo"),
        "base_url": ("lyzr", "openai"),
    }
    for key, backends in only.items():
        if getattr(agent, key) is not None and agent.backend not in backends:
            allowed = " and ".join(repr(b) for b in backends)
            noun = "backend" if len(backends) == 1 else "backends"
            return key, f"only for {noun} {allowed} (this agent's backend is {agent.backend!r})"
    return None


def _missing_key(agent: AgentSpec, settings: Settings, environ: Mapping[str, str]) -> str | None:
    """Why the agent has no key it needs, or None. The value is never shown."""
    if agent.api_key_env is not None:
        if environ.get(agent.api_key_env, "").strip():
            return None
        return f"the environment variable {agent.api_key_env} is not set"
    if agent.backend == "lyzr" and not settings.lyzr_api_key:
        return (
            "not given, and LYZR_API_KEY is not set: name the environment variable that "
            "holds this agent's key"
        )
    return None  # OpenAI-compatible servers may need no key; the demo agent needs none


def _reference_problem(config: FileConfig) -> Problem | None:
    names = {agent.name for agent in config.agents}
    known = ", ".join(sorted(names))
    if config.default_agent is not None and config.default_agent not in names:
        return "default_agent", f"unknown agent {config.default_agent!r} (agents: {known})"
    for index, route in enumerate(config.routes):
        if route.agent not in names:
            return f"routes[{index}].agent", f"unknown agent {route.agent!r} (agents: {known})"
    return None


def _first_problem(exc: ValidationError) -> Problem:
    error = exc.errors()[0]
    loc = error["loc"]
    key = _key_path(loc)
    kind = error["type"]
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else ""
        if any(word in name.lower() for word in _SECRET_WORDS):
            return key, (
                "unknown key; secrets never live in this file: put the value in an "
                "environment variable and name it with api_key_env"
            )
        return key, "unknown key"
    if kind == "missing":
        return key, "required key missing"
    if kind == "value_error":  # a validator's own sentence, which shows the value
        return key, str((error.get("ctx") or {}).get("error", error["msg"]))
    message = str(error["msg"])
    message = message[:1].lower() + message[1:]
    return key, f"{message} (got {_shown(error.get('input'))})"


def _key_path(loc: Sequence[int | str]) -> str:
    """``('routes', 2, 'agent')`` → ``routes[2].agent``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
