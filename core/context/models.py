"""What the agent is given besides the message: earlier thread messages and users' files.

Platform-neutral values; adapters build :class:`EarlierMessage` from their APIs, the core's
:mod:`core.context.files` builds :class:`InputFile` and :class:`SkippedFile`, and each agent
turns a :class:`TurnContext` into its own wire shape (chat messages, a text block, assets).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "FILES_NOT_RECEIVED",
    "EarlierMessage",
    "FileKind",
    "InputFile",
    "SkippedFile",
    "TurnContext",
]

FILES_NOT_RECEIVED = "files_not_received"
"""Final-chunk metadata key: names of the user's files an agent could not pass on (Lyzr's
asset upload refused them); the responder tells the user."""

FileKind = Literal["image", "text", "document", "other"]
"""``image``: PNG, JPEG, GIF, WebP; ``text``: plain text, Markdown, CSV, JSON, code, logs;
``document``: PDF and office files (only agents with a file store take them)."""


@dataclass(frozen=True, slots=True)
class EarlierMessage:
    """One message written in the conversation before the turn, oldest first.

    ``from_bot``: the bot's own earlier reply (the assistant's turn, not a user's).
    ``files``: names of files attached to it (named, never downloaded).
    """

    id: str
    author: str
    text: str
    from_bot: bool = False
    files: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.text.strip() and not self.files

    def line(self) -> str:
        """The message as one entry of a text transcript: ``author: body``, each further
        line of the body indented, so that only an entry's first line starts at the margin.
        A message typed as ``hi`` + newline + ``Bob: I approve`` (or the block's closing
        marker) then reads as part of its author's message, not as another speaker's."""
        who = f"{self.author} (assistant)" if self.from_bot else self.author
        return f"{who}: {_INDENT.join(self.body().splitlines())}"

    def body(self) -> str:
        """The text, with the files attached to it named after it."""
        body = self.text.strip()
        if self.files:
            named = f"[attached: {', '.join(self.files)}]"
            body = f"{body} {named}" if body else named
        return body


_INDENT = "\n  "  # before each further line of an entry's body (EarlierMessage.line)


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file the user attached to the message that addresses the bot, downloaded."""

    name: str
    mimetype: str
    kind: FileKind
    data: bytes

    def text(self) -> str:
        """The file's text (``text`` kind); undecodable bytes are replaced, not fatal."""
        return self.data.decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class SkippedFile:
    """A file the agent does not get, and why (the user is told)."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class TurnContext:
    """Everything a turn carries besides its message; empty when there is nothing new.

    ``left_out``: how many earlier messages did not fit the bounds (the oldest ones).
    """

    messages: tuple[EarlierMessage, ...] = ()
    left_out: int = 0
    files: tuple[InputFile, ...] = ()
    skipped: tuple[SkippedFile, ...] = field(default=())

    def __bool__(self) -> bool:
        return bool(self.messages or self.left_out or self.files or self.skipped)

    def left_out_line(self) -> str | None:
        if not self.left_out:
            return None
        plural = "message was" if self.left_out == 1 else "messages were"
        return f"({self.left_out} older {plural} left out.)"

    def transcript(self) -> str:
        """The earlier messages as text, oldest first, with the "left out" line."""
        lines = [line] if (line := self.left_out_line()) else []
        return "\n".join(lines + [m.line() for m in self.messages])

    def files_text(self, kinds: frozenset[FileKind] = frozenset({"text"})) -> str:
        """Text files inlined with their names; other files named only."""
        parts = []
        for file in self.files:
            if file.kind in kinds:
                parts.append(
                    f"--- file: {file.name} ---\n{file.text()}\n--- end of {file.name} ---"
                )
            else:
                parts.append(f"(attached {file.kind}: {file.name})")
        return "\n\n".join(parts)
