"""What delivering one reply came to: the caller's record of the turn."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel

from core.errors import AgentError
from core.surface import MessageRef

__all__ = ["ArtifactFailure", "ReplyOutcome", "ReplyStatus"]

ReplyStatus = Literal["completed", "failed", "cancelled"]
"""``completed``: the agent finished; ``failed``: it raised or timed out (see ``error``);
``cancelled``: a Stop button, an interrupt or task cancellation ended it early."""


@dataclass(frozen=True, slots=True)
class ArtifactFailure:
    """An artifact that could not be attached; a notice naming it was posted instead."""

    name: str
    url: str
    reason: str


@dataclass(slots=True)
class ReplyOutcome:
    """The result of :meth:`~core.relay.relay.Relay.deliver`.

    ``text`` is the agent's whole reply as received (Markdown, partial when not completed);
    ``messages`` the messages now showing it, in order. ``undelivered`` lists what the
    surface could not be made to show after every retry; it is empty when the thread shows
    everything the agent sent.
    """

    status: ReplyStatus
    text: str
    messages: list[MessageRef] = field(default_factory=list)
    error: AgentError | None = None
    structured_data: BaseModel | None = None
    artifacts_uploaded: list[str] = field(default_factory=list)
    artifacts_failed: list[ArtifactFailure] = field(default_factory=list)
    undelivered: list[str] = field(default_factory=list)
    feedback: MessageRef | None = None
    """The message that carries the feedback controls, when they were offered."""

    @property
    def delivered(self) -> bool:
        """Whether the thread shows everything (text, notices, structured data, files)."""
        return not self.undelivered
