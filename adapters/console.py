"""The terminal as a chat surface: replies grow in place as they stream.

The relay sends whole message texts; a terminal can only append. Because the console has
no streaming indicator and no Markdown dialect, every edit of a reply extends the previous
text, so this surface writes just the new suffix — which works the same on a TTY and over a
pipe. The one exception is the fence the relay closes temporarily while a code block
streams (so chat platforms render it as code): a non-final text holds back a trailing
closing fence until more text, or the final edit, confirms it. Should a text ever not extend
what was written, the new text is written on a fresh line rather than lost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import TextIO

from pydantic import BaseModel

from core.errors import SurfaceError
from core.surface import BudgetScope, MessageRef, OutgoingFile, SurfaceAction, SurfaceLimits
from core.turn import ThreadRef

__all__ = ["ConsoleSurface"]

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")
_FENCE = "```"


class ConsoleSurface:
    """Writes replies to ``out``, status and file paths to ``info``, files to ``artifact_dir``."""

    limits = SurfaceLimits(
        max_message_chars=1_000_000,
        # A terminal has no rate limit; 50 ms keeps redraws smooth without a write per token.
        min_edit_interval=0.05,
        max_file_bytes=100 * 1024 * 1024,
        max_files_per_message=100,
        streaming_indicator="",
    )

    def __init__(self, *, out: TextIO, info: TextIO, artifact_dir: Path) -> None:
        self.out = out
        self.info = info
        self.artifact_dir = artifact_dir
        self.saved: list[Path] = []
        self._written: dict[str, str] = {}
        self._ids = count(1)
        self._status_shown = False
        self._reader_gone = False

    def render(self, markdown: str) -> str:
        return markdown

    def budget_scopes(self, where: ThreadRef, action: SurfaceAction) -> Sequence[BudgetScope]:
        return ()

    async def post(self, where: ThreadRef, text: str, *, streaming: bool = False) -> MessageRef:
        self._clear_status()
        message_id = str(next(self._ids))
        if len(self._written) > 0:
            self._write_raw("\n")
        self._written[message_id] = ""
        self._write(message_id, text, final=not streaming)
        return MessageRef(where, message_id)

    async def edit(self, message: MessageRef, text: str, *, final: bool = False) -> None:
        self._write(message.message_id, text, final=final)

    async def set_status(self, where: ThreadRef, status: str | None) -> None:
        if status is None:
            self._clear_status()
        elif self.info.isatty():
            self.info.write(f"\x1b[2m{status}…\x1b[0m")
            self.info.flush()
            self._status_shown = True

    async def upload(self, where: ThreadRef, files: Sequence[OutgoingFile]) -> None:
        folder = self.artifact_dir / _SAFE_NAME.sub("_", where.thread or where.channel)
        folder.mkdir(parents=True, exist_ok=True)
        for file in files:
            path = _unique(folder / (_SAFE_NAME.sub("_", Path(file.name).name) or "artifact"))
            path.write_bytes(file.data)
            self.saved.append(path)
            self.info.write(f"\n[file saved: {path}]\n")
        self.info.flush()

    async def tell_privately(
        self, where: ThreadRef, user: str, markdown: str, *, about: str
    ) -> None:
        """A note for the one person at this terminal (why a message is not answered)."""
        self.info.write(f"\n{markdown}\n")
        self.info.flush()

    async def post_structured(self, where: ThreadRef, data: BaseModel, fallback: str) -> None:
        self._write_raw("\n" + json.dumps(data.model_dump(mode="json"), indent=2) + "\n")

    def _write(self, message_id: str, text: str, *, final: bool) -> None:
        if not final and text.endswith(_FENCE):
            text = text.removesuffix(_FENCE).removesuffix("\n")
        before = self._written[message_id]
        self._write_raw(text[len(before) :] if text.startswith(before) else "\n" + text)
        self._written[message_id] = text

    def _write_raw(self, text: str) -> None:
        if self._reader_gone:
            return
        try:
            self.out.write(text)
            self.out.flush()
        except BrokenPipeError:
            # The reader left (`| head`): nobody can see more, so retrying would only stall.
            self._reader_gone = True
        except OSError as exc:
            raise SurfaceError(f"cannot write to the terminal: {exc}") from exc

    def _clear_status(self) -> None:
        if self._status_shown:
            self.info.write("\r\x1b[K")
            self.info.flush()
            self._status_shown = False


def _unique(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate
