"""The relay: streams an agent's reply into a chat thread by posting and editing messages.

:class:`Relay` delivers one reply at a time per call and shares one edit budget
(:class:`~core.relay.scheduler.EditScheduler`) across every reply of the process.
"""

from core.relay.notices import DEFAULT_NOTICES, Notices
from core.relay.outcome import ArtifactFailure, ReplyOutcome, ReplyStatus
from core.relay.relay import Relay
from core.relay.sender import EditBudget, RetryPolicy

__all__ = [
    "DEFAULT_NOTICES",
    "ArtifactFailure",
    "EditBudget",
    "Notices",
    "Relay",
    "ReplyOutcome",
    "ReplyStatus",
    "RetryPolicy",
]
