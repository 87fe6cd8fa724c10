"""Replies as plain text: over a pipe, into a file, or on a terminal with ``NO_COLOR``.

The relay sends whole message texts; a pipe can only append. Every edit of a reply extends
the previous text, so this view writes just the new suffix. The one exception is the fence
the relay closes temporarily while a code block streams (so chat platforms render it as
code): a non-final text holds back a trailing closing fence until more text, or the final
edit, confirms it. Should a text ever not extend what was written, the new text is written
on a fresh line rather than lost.

On a terminal the thinking status is written after the ``agent>`` label and erased with
backspaces, so the label stays; no escape sequence is ever written.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from core.errors import SurfaceError

__all__ = ["PlainView"]

_FENCE = "```"


class PlainView:
    """Writes replies to ``out``; status, notes and errors to ``info``."""

    def __init__(self, *, out: TextIO, info: TextIO) -> None:
        self.out = out
        self.info = info
        self._written: dict[str, str] = {}
        self._status = ""  # the status text on screen, to erase
        self._gone: set[int] = set()  # the streams whose reader went away
        self._line_open = False  # the last text written to ``out`` did not end a line

    # --- the console's own lines ---------------------------------------------------------------

    def say(self, text: str) -> None:
        self._write(self.out, text + "\n")

    def prompt(self, label: str) -> None:
        self._write(self.out, f"\n{label} ")

    def label(self, label: str) -> None:
        self._write(self.out, f"{label} ")

    def end_reply(self) -> None:
        if self._line_open:
            self._write(self.out, "\n")

    def error(self, text: str) -> None:
        self._clear_status()
        self._write(self.info, f"threadcast: {text}\n")

    # --- the reply -----------------------------------------------------------------------------

    def post(self, message_id: str, text: str, *, final: bool) -> None:
        self._clear_status()
        if self._written:
            self._write(self.out, "\n")
        self._written[message_id] = ""
        self.edit(message_id, text, final=final)

    def edit(self, message_id: str, text: str, *, final: bool) -> None:
        if not final and text.endswith(_FENCE):
            text = text.removesuffix(_FENCE).removesuffix("\n")
        before = self._written.get(message_id, "")
        self._write(self.out, text[len(before) :] if text.startswith(before) else "\n" + text)
        self._written[message_id] = text

    def status(self, text: str | None) -> None:
        self._clear_status()
        if text is not None and self.info.isatty():
            self._write(self.info, text)
            self._status = text

    def note(self, text: str) -> None:
        self._write(self.info, f"\n[{text}]\n")

    def data(self, value: Any) -> None:
        self._write(self.out, "\n" + json.dumps(value, indent=2, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self._clear_status()

    # --- inside --------------------------------------------------------------------------------

    def _clear_status(self) -> None:
        if self._status:
            width = len(self._status)
            self._write(self.info, "\b" * width + " " * width + "\b" * width)
            self._status = ""

    def _write(self, stream: TextIO, text: str) -> None:
        if id(stream) in self._gone:
            return
        try:
            stream.write(text)
            stream.flush()
            if stream is self.out and text:
                self._line_open = not text.endswith("\n")
        except BrokenPipeError:
            # The reader left (`| head`): nobody can see more, so retrying would only stall.
            self._gone.add(id(stream))
        except OSError as exc:  # a closed terminal (EIO), a full disk: reported once
            self._gone.add(id(stream))
            raise SurfaceError(f"cannot write to the terminal: {exc}") from exc
