"""The agent protocol every backend implements.

An agent streams :class:`AgentStream` chunks for one message in one session. The last chunk
has ``done=True``; joining every chunk's ``content`` gives the whole reply. Failures raise
:class:`core.errors.AgentError` subclasses, before or during the stream. Closing the
iterator early (``aclose()``) must close the underlying HTTP stream: that is how a Stop
button or an interrupt cancels a reply for real.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from pydantic import BaseModel

from core.context.models import TurnContext
from core.models import AgentStream

__all__ = ["Agent", "AgentRequest"]


@runtime_checkable
class Agent(Protocol):
    """A streaming agent backend (Lyzr, OpenAI-compatible, demo).

    ``file_kinds`` (optional attribute, not in the protocol): the kinds of user files the
    backend takes (:data:`core.context.models.FileKind`); without it, text files only.
    """

    def stream(
        self,
        message: str,
        *,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AsyncIterator[AgentStream]:
        """Stream the reply to ``message`` in ``session_id`` (an async generator).

        ``context``: the thread's earlier messages the session has not seen and the user's
        files (:mod:`core.context`); each backend passes them in its own way.
        """
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...


@dataclass(frozen=True, slots=True)
class AgentRequest:
    """One :meth:`Agent.stream` call's arguments as one value.

    The backends take the call's keywords once (:class:`core.agents.reference.ReferenceCalls`)
    and pass this on, so adding an argument is one edit, not one per backend.
    """

    message: str
    session_id: str
    user_id: str
    response_format: type[BaseModel] | None = None
    context: TurnContext | None = None
