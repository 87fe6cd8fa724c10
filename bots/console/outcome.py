"""What a finished turn means for the person at the console: one line, an exit status.

A failure is shown once: the relay's failure notice is left out of the console's replies
(:data:`CONSOLE_NOTICES`), and :func:`failure_line` says it instead, on stderr, as one
line with the detail (for an agent that cannot be reached: its URL and the variable that
set it). An empty reply, likewise, is one line on stderr rather than a reply.
"""

from __future__ import annotations

from dataclasses import replace

from bots import exit_status
from bots.console import texts
from core.agents.transport import AgentUnreachableError
from core.config import Settings
from core.errors import AgentError
from core.relay.notices import DEFAULT_NOTICES
from core.responder import TurnResult

__all__ = ["CONSOLE_NOTICES", "EMPTY_REPLY", "failure_line", "is_empty", "status_of"]

EMPTY_REPLY = "the agent sent an empty reply"

CONSOLE_NOTICES = replace(DEFAULT_NOTICES, failed="", empty_reply="")
"""The relay's notices minus the two :meth:`ConsoleSession.report` shows itself, once."""


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


def failure_line(error: AgentError, settings: Settings) -> str:
    """The agent's failure as one line of text."""
    text = str(error)
    endpoint = _endpoint(settings)
    if isinstance(error, AgentUnreachableError) and endpoint is not None:
        url, variable, field = endpoint
        text = texts.unreachable_agent(
            error.notice,
            url,
            variable,
            is_set=field in settings.model_fields_set,
            detail=error.detail,
        )
    return " ".join(text.split())


def _endpoint(settings: Settings) -> tuple[str, str, str] | None:
    """The agent API's base URL, its variable and its settings field."""
    if settings.agent_kind == "lyzr":
        return settings.lyzr_api_base, "LYZR_API_BASE", "lyzr_api_base"
    if settings.agent_kind == "openai":
        return settings.openai_base_url, "OPENAI_BASE_URL", "openai_base_url"
    return None
