"""The OpenAI chat-completions streaming format, as pure functions.

Each SSE event's data holds one JSON chunk; the text is ``choices[0].delta.content``
(``reasoning_content`` on some servers carries reasoning), and ``data: [DONE]`` ends it.
A server may report a failure mid-stream as a chunk with an ``error`` object, or as an
event named ``error``.

Read as openai-python reads it (``src/openai/_streaming.py``): events framed by the SSE
spec (one event's data may span several ``data:`` lines: :class:`~core.agents.sse.
EventDecoder`), ``[DONE]`` recognised as a prefix, and an ``error`` raised only when it is
set (``"error": null`` is an ordinary chunk). One leniency on top: an event whose lines do
not form one JSON value is read line by line, for servers that leave out the blank line
between chunks (what this client has always accepted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.agents.chunk_json import loads
from core.agents.sse import SseEvent, data_field
from core.errors import AgentProtocolError, AgentServerError

__all__ = ["Delta", "Finished", "parse_chunk_line", "parse_event"]


@dataclass(slots=True)  # one per chunk: a frozen dataclass's __init__ costs twice as much
class Delta:
    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    pass


def parse_event(event: SseEvent) -> list[Delta | Finished]:
    """One SSE event → its deltas and end marker; raises on errors."""
    lines = event.lines
    if len(lines) == 1:  # the usual event: one data line
        return [_parse_data(lines[0], event.name)]
    data = event.data
    if len(lines) > 1 and not data.lstrip().startswith("[DONE]"):
        try:
            chunk = loads(data)
        except ValueError:  # chunks without the blank line between them
            return [_parse_data(line, event.name) for line in lines if line.strip()]
        return [_parse_chunk(chunk, data, event.name)]
    return [_parse_data(data, event.name)]


def parse_chunk_line(line: str) -> Delta | Finished | None:
    """One ``data:`` line read as a whole event → a delta, the end marker, or ``None``."""
    value = data_field(line)
    return None if value is None else _parse_data(value, None)


def _parse_data(value: str, name: str | None) -> Delta | Finished:
    if value.lstrip().startswith("[DONE]"):
        return Finished()
    try:
        chunk: Any = loads(value)
    except ValueError:
        if name == "error":
            raise AgentServerError(value[:200] or "unspecified error") from None
        raise AgentProtocolError(f"unreadable stream chunk: {value[:200]!r}") from None
    return _parse_chunk(chunk, value, name)


def _parse_chunk(chunk: Any, value: str, name: str | None) -> Delta:
    if not isinstance(chunk, dict):
        raise AgentProtocolError(f"unexpected stream chunk: {value[:200]!r}")
    error = chunk.get("error")
    if error or name == "error":
        message = error.get("message") if isinstance(error, dict) else error
        message = message or chunk.get("message")
        raise AgentServerError(str(message or "unspecified error"))
    choices = chunk.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        return Delta()  # usage-only or keep-alive chunk
    choice = choices[0]
    delta = choice.get("delta") or {}
    return Delta(
        text=_text(delta.get("content")),
        reasoning=_text(delta.get("reasoning_content") or delta.get("reasoning")),
        finish_reason=choice.get("finish_reason"),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
