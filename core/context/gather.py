"""Putting a turn's context together: what the session has not seen, bounded, plus files.

Runs inside the conversation's lock (turns of one thread are in order, on any replica):

1. the marker (:mod:`core.context.marker`) says which message the session was given last;
2. the adapter reads the messages after it and before the turn's own (Slack
   ``conversations.replies``, Discord history); when the session has a marker, the bot's
   own replies among them are left out (the agent wrote them: they are in its memory);
3. the newest messages that fit ``max_messages`` / ``max_chars`` are kept;
4. the user's files are fetched (:mod:`core.context.files`);
5. :meth:`ContextGatherer.handed` records the turn's message as the last one given, just
   before the agent is called, so a follow-up never repeats the thread.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from core import texts
from core.context.bounds import bound
from core.context.files import FileLimits, fetch_files
from core.context.marker import ContextMarker
from core.context.models import EarlierMessage, FileKind, InputFile, SkippedFile, TurnContext
from core.context.source import ContextSource, Earlier
from core.turn import Turn

__all__ = ["ContextGatherer", "ContextLimits"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ContextLimits:
    """``THREADCAST_CONTEXT_MESSAGES`` (0: no thread context), ``THREADCAST_CONTEXT_CHARS``,
    ``THREADCAST_INPUT_FILES`` (0: no files), ``THREADCAST_INPUT_FILE_MAX_BYTES``."""

    messages: int = 50
    chars: int = 16_000
    files: int = 5
    file_bytes: int = 20 * 1024 * 1024
    read_timeout: float = 30.0
    """Seconds reading the earlier messages may take in all (several pages); past it the
    turn goes on without them (logged)."""


class ContextGatherer:
    """One platform's context for every turn of a responder."""

    def __init__(
        self,
        source: ContextSource,
        marker: ContextMarker,
        http: httpx.AsyncClient,
        limits: ContextLimits,
    ) -> None:
        self.source = source
        self.marker = marker
        self.http = http
        self.limits = limits

    async def gather(
        self, turn: Turn, conversation: str, session_id: str, *, accepts: frozenset[FileKind]
    ) -> TurnContext:
        """The context of ``turn`` (see the module docstring); raises only
        :class:`~core.errors.SessionStoreError` (the marker's Redis)."""
        limits = self.limits
        messages: tuple[EarlierMessage, ...] = ()
        left_out = 0
        if limits.messages > 0:
            last = await self.marker.last(conversation, session_id)
            try:
                async with asyncio.timeout(limits.read_timeout):
                    earlier = await self.source.earlier(turn, after=last, limit=limits.messages)
            except TimeoutError:
                earlier = Earlier(problem=f"timed out after {limits.read_timeout:g} s")
            if earlier.problem:
                log.warning("thread context not read: %s", earlier.problem)
            found = earlier.messages
            if last is not None:
                found = tuple(m for m in found if not m.from_bot)
            messages, left_out = bound(
                found, max_messages=limits.messages, max_chars=limits.chars,
                unseen=earlier.unseen,
            )  # fmt: skip
        files: tuple[InputFile, ...] = ()
        skipped: tuple[SkippedFile, ...] = ()
        if turn.attachments:
            if limits.files > 0:
                files, skipped = await fetch_files(
                    turn, self.source, self.http,
                    limits=FileLimits(limits.files, limits.file_bytes), accepts=accepts,
                )  # fmt: skip
                files = fit_texts(files, limits.chars)
            else:
                skipped = tuple(SkippedFile(a.name, texts.FILES_OFF) for a in turn.attachments)
        return TurnContext(messages, left_out, files, skipped)

    async def handed(self, turn: Turn, conversation: str, session_id: str) -> None:
        """The agent is about to get ``turn``: later turns start after it."""
        if self.limits.messages > 0:
            await self.marker.handed(conversation, session_id, turn.message_id)


def fit_texts(files: tuple[InputFile, ...], budget: int) -> tuple[InputFile, ...]:
    """Text files inlined within ``budget`` characters in all, in order; a file past the
    budget is cut, and says so (the agent is not led to think it saw the whole file)."""
    fitted: list[InputFile] = []
    left = budget
    for file in files:
        if file.kind != "text":
            fitted.append(file)
            continue
        text = file.text()
        if len(text) > left:
            note = texts.cut_note(len(text), max(0, left))
            text = text[: max(0, left)] + note
        left = max(0, left - len(text))
        fitted.append(InputFile(file.name, file.mimetype, file.kind, text.encode("utf-8")))
    return tuple(fitted)
