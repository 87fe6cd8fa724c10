"""The conversation the agent sees: earlier thread messages and the files users attach.

A platform adapter implements :class:`ContextSource`; :class:`ContextGatherer` turns each
turn into a :class:`TurnContext` (what the session has not seen, bounded, plus the user's
files) and every agent takes it as ``context=`` in its ``stream`` call.
"""

from core.context.gather import ContextGatherer, ContextLimits
from core.context.marker import ContextMarker
from core.context.models import EarlierMessage, FileKind, InputFile, SkippedFile, TurnContext
from core.context.source import ContextSource, Earlier, FileRefused, FileRequest

__all__ = [
    "ContextGatherer",
    "ContextLimits",
    "ContextMarker",
    "ContextSource",
    "Earlier",
    "EarlierMessage",
    "FileKind",
    "FileRefused",
    "FileRequest",
    "InputFile",
    "SkippedFile",
    "TurnContext",
]
