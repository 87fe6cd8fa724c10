"""The terminal as a chat surface: the relay's calls, handed to a view.

The view decides how a reply looks (:class:`~adapters.console.plain.PlainView` over a pipe
or with ``NO_COLOR``, :class:`~adapters.console.styled.StyledView` on a terminal); this
class numbers the messages, saves the agent's files and keeps the console's limits.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel

from adapters.console import texts
from core.errors import SurfaceError
from core.surface import (
    BudgetScope,
    MessageRef,
    OutgoingFile,
    SurfaceAction,
    SurfaceLimits,
    Upload,
)
from core.turn import ThreadRef

__all__ = ["ConsoleSurface", "ReplyView"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ReplyView(Protocol):
    """How the console shows replies and its own lines (see the two implementations)."""

    def say(self, text: str) -> None: ...
    def prompt(self, label: str) -> None: ...
    def label(self, label: str) -> None: ...
    def end_reply(self) -> None: ...
    def error(self, text: str) -> None: ...
    def post(self, message_id: str, text: str, *, final: bool) -> None: ...
    def edit(self, message_id: str, text: str, *, final: bool) -> None: ...
    def status(self, text: str | None) -> None: ...
    def note(self, text: str) -> None: ...
    def data(self, value: Any) -> None: ...
    def close(self) -> None: ...


class ConsoleSurface:
    """Shows replies through ``view``; saves files under ``artifact_dir``."""

    limits = SurfaceLimits(
        max_message_chars=1_000_000,
        # A terminal has no rate limit; 80 ms keeps redraws smooth without one per token
        # (a styled redraw renders the growing block's Markdown again).
        min_edit_interval=0.08,
        max_file_bytes=100 * 1024 * 1024,
        max_files_per_message=100,
        streaming_indicator="",  # the view draws its own cursor
    )

    def __init__(self, *, view: ReplyView, artifact_dir: Path) -> None:
        self.view = view
        self.artifact_dir = artifact_dir
        self.saved: list[Path] = []
        self._ids = count(1)

    def render(self, markdown: str) -> str:
        return markdown

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        return ()

    async def post(
        self, where: ThreadRef, text: str, *, streaming: bool = False, key: str | None = None
    ) -> MessageRef:
        message_id = str(next(self._ids))
        self.view.post(message_id, text, final=not streaming)
        return MessageRef(where, message_id)

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        self.view.edit(message.message_id, text, final=final)

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        self.view.status(status)

    async def upload(
        self, where: ThreadRef, files: Sequence[OutgoingFile], upload: Upload | None = None
    ) -> None:
        folder = self.artifact_dir / _SAFE_NAME.sub("_", where.thread or where.channel)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for file in files:
                name = _SAFE_NAME.sub("_", Path(file.name).name) or "artifact"
                path = _unique(folder / name)
                await asyncio.to_thread(_copy, file, path)
                self.saved.append(path)
                self.view.note(f"file saved: {path}")
        except OSError as exc:
            raise SurfaceError(
                f"cannot save the file in {folder}: {exc.strerror}",
                reason=texts.NOT_SAVED.format(folder=folder, error=exc.strerror),
            ) from exc

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        """A note for the one person at this terminal (why a message is not answered)."""
        self.view.note(markdown)

    async def post_structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, *, key: str | None = None
    ) -> None:
        self.view.data(data.model_dump(mode="json"))


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def _copy(file: OutgoingFile, path: Path) -> None:
    """Stream ``file`` into ``path`` (an artifact may be larger than memory should hold)."""
    with path.open("wb") as target:
        shutil.copyfileobj(file.rewound(), target)
