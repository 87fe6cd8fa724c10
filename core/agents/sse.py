"""Server-sent-event lines from raw network reads, and events from lines.

Network reads split the byte stream anywhere: inside a line, inside ``\\r\\n``, inside a
multi-byte UTF-8 character. :class:`LineDecoder` glues them back with an incremental UTF-8
decoder and a line buffer, so each read costs O(its own size) however long the reply grows.

:class:`EventDecoder` frames lines into events as the SSE spec does (WHATWG HTML,
"Interpreting an event stream"; openai-python's ``SSEDecoder`` in ``src/openai/_streaming.py``
is the same): ``data:`` lines accumulate, joined with ``\\n``, until a blank line ends the
event; ``event:`` names it; ``:`` comments and other fields carry nothing, but one:
llama.cpp's server writes a failure as a field of its own, ``error: {...}``, then
``data: [DONE]`` (ggml-org/llama.cpp ``tools/server/server.cpp``, ``server_sent_event(sink,
"error", ...)``; ggml-org/llama.cpp#14566). Dropped, as the spec drops it, the reply would
end as finished, cut short and without a word of why; so it is an event named ``error``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

from core.errors import AgentProtocolError

__all__ = ["MAX_LINE_CHARS", "EventDecoder", "LineDecoder", "SseEvent", "data_field"]

MAX_LINE_CHARS = 1024 * 1024
"""A line longer than this is not a token stream any more; refuse rather than buffer it."""

_UTF8 = codecs.getincrementaldecoder("utf-8")
_BOM = "\ufeff"


class LineDecoder:
    """Feed bytes, get complete lines (without their ending).

    Lines end at ``\\r\\n``, ``\\n`` or a bare ``\\r``, as the SSE spec says ("end-of-line
    = ( cr lf / cr / lf )"): a server that ends lines with ``\\r`` alone is read, not taken
    for one endless line. A ``\\r`` that ends a read is a line end at once, and a ``\\n``
    opening the next read is then the rest of that ``\\r\\n``, not a blank line. One
    UTF-8 byte order mark opening the body is dropped (the spec: "stream = [ bom ] *event"):
    kept, it would hide the first line's ``data:`` field and lose its text.
    """

    def __init__(self) -> None:
        # Plain UTF-8 (C code on every read), the mark dropped once from the first text:
        # Python's "utf-8-sig" decoder would run a Python-level step on every read.
        self._utf8 = _UTF8(errors="replace")
        self._opening = True  # no text decoded yet: it may start with the byte order mark
        self._parts: list[str] = []  # pieces of the unfinished line, joined once it ends
        self._size = 0
        self._after_cr = False  # the last text ended with \r: a \n next completes it

    def feed(self, data: bytes) -> list[str]:
        return self._split(self._text(self._utf8.decode(data)))

    def flush(self) -> list[str]:
        """The last line if the stream ended without a final newline."""
        lines = self._split(self._text(self._utf8.decode(b"", final=True)))
        if self._parts:
            lines.append("".join(self._parts))
            self._parts.clear()
            self._size = 0
        return lines

    def _text(self, text: str) -> str:
        if self._opening and text:
            self._opening = False
            if text[0] == _BOM:
                return text[1:]
        return text

    def _split(self, text: str) -> list[str]:
        if not text:
            return []
        if self._after_cr:
            self._after_cr = False
            if text[0] == "\n":
                text = text[1:]
                if not text:
                    return []
        if "\r" in text:
            self._after_cr = text[-1] == "\r"
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\n" not in text:
            self._keep(text)
            return []
        lines = text.split("\n")
        tail = lines.pop()
        if self._parts:
            self._parts.append(lines[0])
            lines[0] = "".join(self._parts)
            self._parts.clear()
            self._size = 0
        if tail:
            self._keep(tail)
        return lines

    def _keep(self, piece: str) -> None:
        self._size += len(piece)
        if self._size > MAX_LINE_CHARS:
            raise AgentProtocolError(f"a stream line exceeded {MAX_LINE_CHARS:,} characters")
        self._parts.append(piece)


def data_field(line: str) -> str | None:
    """The value of a ``data:`` line, or ``None`` for any other line.

    Exactly one space after the colon belongs to the field syntax; anything after it is the
    value, so a token's own leading spaces survive (``data:  world`` → ``" world"``).
    """
    if not line.startswith("data:"):
        return None
    return line[6:] if line.startswith("data: ") else line[5:]


@dataclass(slots=True)
class SseEvent:
    """One event: its ``data`` lines (joined with ``\\n`` by :attr:`data`) and its name.

    Not frozen: one is made per chunk a server streams, and a frozen dataclass's
    ``__init__`` costs twice a plain one's (tests/bench/README.md, "CPU per streamed reply").
    """

    lines: tuple[str, ...]
    name: str | None = None

    @property
    def data(self) -> str:
        return "\n".join(self.lines)


class EventDecoder:
    """Feed lines, get the events they complete (see the module docstring).

    An event still open when the body ends is returned by :meth:`flush`: a last
    ``data: [DONE]`` without its blank line is not lost.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []
        self._name: str | None = None

    def feed(self, line: str) -> SseEvent | None:
        if line.startswith("data:"):  # nearly every line: checked first
            self._lines.append(line[6:] if line.startswith(" ", 5) else line[5:])
            return None
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment: keep-alives
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._lines.append(value)
        elif field == "event":
            self._name = value or None
        elif field == "error":  # llama.cpp's own field (see the module docstring)
            self._lines.append(value)
            self._name = "error"
        return None

    def flush(self) -> SseEvent | None:
        return self._dispatch()

    def idle(self) -> bool:
        """No event is open: the next lines start a new one (a block parser may frame a
        plain one-line event itself, :func:`core.agents.openai_wire.parse_lines`)."""
        return not self._lines and self._name is None

    def _dispatch(self) -> SseEvent | None:
        lines, name = self._lines, self._name
        self._lines, self._name = [], None
        if not any(lines):  # the spec: an event without data is not dispatched
            return None
        return SseEvent(tuple(lines), name)
