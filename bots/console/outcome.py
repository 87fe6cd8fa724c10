"""What a finished turn means for the person at the console: one line, an exit status.

A failure is shown once: the relay's failure notice is left out of the console's replies
(:data:`CONSOLE_NOTICES`), and :func:`failure_line` says it instead, on stderr, as one
line with the detail (for an agent that cannot be reached: its URL and the variable, or
the configuration file's key, that set it). An empty reply, likewise, is one line on
stderr rather than a reply.
"""

from __future__ import annotations

from dataclasses import replace

from bots import exit_status
from bots.console import texts
from core.agents.transport import AgentUnreachableError
from core.config import Settings
from core.deployment.load import Deployment
from core.errors import AgentError
from core.relay.notices import DEFAULT_NOTICES
from core.responder import TurnResult

__all__ = ["CONSOLE_NOTICES", "EMPTY_REPLY", "failure_line", "is_empty", "status_of"]

EMPTY_REPLY = "the agent sent an empty reply"

CONSOLE_NOTICES = replace(DEFAULT_NOTICES, failed="", agent_said="", empty_reply="")
"""The relay's notices minus those :meth:`ConsoleSession.report` shows itself, once, on
stderr (a failure's line carries the agent's own words about it)."""


def status_of(result: TurnResult) -> int:
    """The exit status a turn calls for (see :mod:`bots.exit_status`)."""
    if result.status == "store_failed":
        return exit_status.STORE_FAILED
    if result.status == "replied":
        return exit_status.REFUSED
    if result.outcome is not None and result.outcome.error is not None:
        return exit_status.AGENT_FAILED
    return exit_status.OK


def is_empty(result: TurnResult) -> bool:
    """Whether the agent finished without sending anything to show."""
    outcome = result.outcome
    return (
        outcome is not None
        and outcome.status == "completed"
        and not outcome.text.strip()
        and outcome.structured_data is None
        and not outcome.artifacts_uploaded
        and not outcome.artifacts_failed
    )


def failure_line(
    error: AgentError, settings: Settings, deployment: Deployment, agent: str | None
) -> str:
    """The agent's failure as one line of text; ``agent`` names the one that was called."""
    text = str(error)
    endpoint = _endpoint(settings, deployment, agent)
    if isinstance(error, AgentUnreachableError) and endpoint is not None:
        url, origin = endpoint
        text = texts.unreachable_agent(error.notice, url, origin, detail=error.detail)
    return " ".join(text.split())


def _endpoint(
    settings: Settings, deployment: Deployment, agent: str | None
) -> tuple[str, str] | None:
    """The base URL ``agent`` was called at, and what set it: the file's ``base_url`` of
    that agent, else the environment's variable (a file agent takes it from there too)."""
    index, spec = next(
        ((i, spec) for i, spec in enumerate(deployment.agents) if spec.name == agent),
        (None, None),
    )
    if spec is None:
        return None
    if spec.backend == "lyzr":
        url, variable, field = settings.lyzr_api_base, "LYZR_API_BASE", "lyzr_api_base"
    elif spec.backend == "openai":
        url, variable, field = settings.openai_base_url, "OPENAI_BASE_URL", "openai_base_url"
    else:
        return None
    if spec.base_url is not None:
        return spec.base_url, texts.set_in_file(deployment.source, f"agents[{index}].base_url")
    return url, texts.set_by_variable(variable, is_set=field in settings.model_fields_set)
