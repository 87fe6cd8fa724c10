"""Replies on a terminal: Markdown rendered by ``rich``, in colour, growing in place.

Used when standard output is a terminal and ``NO_COLOR`` is not set (see
:func:`adapters.console.choose_view`). Each message of a reply is a
:class:`~adapters.console.markdown_stream.MarkdownStream`; the thinking status is a spinner
in the live region below the ``agent>`` label, which is printed before it and so stays.
Notes (files saved) and errors go to standard error, one line each, once the reply's text
is final.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from rich.console import Console
from rich.json import JSON
from rich.text import Text

from adapters.console.markdown_stream import MarkdownStream
from core.errors import SurfaceError

__all__ = ["StyledView"]


class StyledView:
    """Writes replies through ``console`` (stdout), notes and errors through ``errors``."""

    def __init__(self, *, console: Console, errors: Console) -> None:
        self.console = console
        self.errors = errors
        self._stream: MarkdownStream | None = None
        self._current = ""  # the message id the stream shows
        self._shown: dict[str, str] = {}
        self._gone = False  # the terminal failed: nothing more can be shown

    # --- the console's own lines ---------------------------------------------------------------

    def say(self, text: str) -> None:
        self._guard(lambda: self.console.print(Text(text, style="dim")))

    def prompt(self, label: str) -> None:
        self._guard(lambda: self.console.print(Text(f"\n{label} ", style="bold cyan"), end=""))

    def label(self, label: str) -> None:
        self._guard(lambda: self.console.print(Text(label, style="bold green")))

    def end_reply(self) -> None:
        self.close()

    def error(self, text: str) -> None:
        self.close()
        line = Text(f"threadcast: {text}", style="bold red")
        self._guard(lambda: self.errors.print(line, soft_wrap=True))

    # --- the reply -----------------------------------------------------------------------------

    def post(self, message_id: str, text: str, *, final: bool) -> None:
        self.close()
        self._stream = MarkdownStream(self.console)
        self._current = message_id
        self.edit(message_id, text, final=final)

    def edit(self, message_id: str, text: str, *, final: bool) -> None:
        if message_id != self._current or self._stream is None:
            # An earlier message changed (rare: a page finalised late): show it again.
            if self._shown.get(message_id) != text:
                self.post(message_id, text, final=True)
            return
        stream = self._stream
        self._guard(lambda: stream.update(text, final=final))
        self._shown[message_id] = text

    def status(self, text: str | None) -> None:
        if self._stream is None:
            if text is None:
                return
            self._stream, self._current = MarkdownStream(self.console), ""
        stream = self._stream
        self._guard(lambda: stream.status(text))

    def note(self, text: str) -> None:
        self.close()
        self._guard(lambda: self.errors.print(Text(text, style="dim"), soft_wrap=True))

    def data(self, value: Any) -> None:
        self.close()
        self._guard(lambda: self.console.print(JSON(json.dumps(value, ensure_ascii=False))))

    def close(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            self._guard(stream.close)

    def _guard(self, action: Callable[[], object]) -> None:
        """Run a write; a terminal that fails (closed: EIO) is reported once, then left."""
        if self._gone:
            return
        try:
            action()
        except OSError as exc:
            self._gone = True
            raise SurfaceError(f"cannot write to the terminal: {exc}") from exc
