"""The OpenAI chat-completions streaming format, as pure functions.

Each SSE event's data holds one JSON chunk; the text is ``choices[0].delta.content``
(``reasoning_content`` on some servers carries reasoning), and ``data: [DONE]`` ends it.
A server may report a failure mid-stream as a chunk with an ``error`` object, or as an
event named ``error``; its ``message`` is shown to the user after the notice, as Lyzr's
``[ERROR]`` words are, unless it is internals (a stack trace, an address).

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

import orjson

from core.agents.chunk_json import loads
from core.agents.error_words import shown_words
from core.agents.sse import EventDecoder, SseEvent, data_field
from core.errors import AgentError, AgentProtocolError, AgentServerError

__all__ = ["Delta", "Finished", "parse_chunk_line", "parse_event", "parse_lines"]


@dataclass(slots=True)  # one per chunk: a frozen dataclass's __init__ costs twice as much
class Delta:
    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    pass


def parse_lines(
    lines: list[str], events: EventDecoder
) -> tuple[list[Delta], Finished | AgentError | None]:
    """The lines of one network read → the deltas worth passing on, and how the stream
    ends there (its end marker, or the error it reports), if it does.

    Text deltas in a row are joined into one (a held read brings several: see
    :mod:`core.agents.batching`); a delta with reasoning or a finish reason stays apart, and
    whatever came before an end or an error is returned with it, to go first.

    Why not :meth:`EventDecoder.feed` and :func:`parse_event` per line: a read held at
    N = 1,000 brings ~10 chunks, and their five calls per chunk were most of its parse. The
    usual event, one ``data: {...}`` line and its blank line with no event open, is framed
    and decoded here; every other line goes through ``events`` as before, with the same
    results and errors.
    """
    out: list[Delta] = []
    held: Delta | None = None
    idle = events.idle()
    count, i = len(lines), 0
    while i < count:
        line = lines[i]
        i += 1
        try:
            if idle and i < count and not lines[i] and line.startswith("data:"):
                value = line[6:] if line.startswith(" ", 5) else line[5:]
                i += 1  # the blank line: the event ends here
                if not value:
                    continue  # an event without data is not dispatched
                if value[0] != "{":  # [DONE], or not a chunk
                    items = [_parse_data(value, None)]
                else:
                    try:
                        chunk = orjson.loads(value)
                    except orjson.JSONDecodeError:
                        items = [_parse_data(value, None)]  # json.loads' reading and errors
                    else:
                        text = _plain_text(chunk)
                        if text is None:
                            items = [_parse_chunk(chunk, value, None)]
                        else:  # the usual chunk: its text joins the held text
                            if not text:
                                continue
                            if held is None:
                                held = Delta(text)
                            elif _plain(held):
                                held.text += text
                            else:
                                out.append(held)
                                held = Delta(text)
                            continue
            else:
                event = events.feed(line)
                idle = events.idle()
                if event is None:  # most lines (data lines) complete no event
                    continue
                items = parse_event(event)
        except AgentError as exc:
            if held is not None:
                out.append(held)
            return out, exc
        for item in items:
            if isinstance(item, Finished):
                if held is not None:
                    out.append(held)
                return out, item
            if not (item.text or item.reasoning or item.finish_reason):
                continue  # usage-only, keep-alive or empty chunks
            if held is None:
                held = item
            elif _plain(held) and _plain(item):
                held.text += item.text
            else:
                out.append(held)
                held = item
    if held is not None:
        out.append(held)
    return out, None


def _plain_text(chunk: Any) -> str | None:
    """The text of a chunk that carries text alone (``""`` when it carries nothing), as
    :func:`_parse_chunk` reads it; ``None`` for any other chunk, which it then reads."""
    if type(chunk) is not dict or chunk.get("error"):
        return None
    choices = chunk.get("choices")
    if type(choices) is not list or not choices:
        return None
    choice = choices[0]
    if type(choice) is not dict or choice.get("finish_reason") is not None:
        return None
    delta = choice.get("delta")
    if type(delta) is not dict or delta.get("reasoning_content") or delta.get("reasoning"):
        return None
    text = delta.get("content")
    return text if type(text) is str else ""


def _plain(delta: Delta) -> bool:
    """Text only: such deltas in a row can be joined into one."""
    return not delta.reasoning and delta.finish_reason is None


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
            raise _reported(value[:200], value) from None
        raise AgentProtocolError(f"unreadable stream chunk: {value[:200]!r}") from None
    return _parse_chunk(chunk, value, name)


def _reported(detail: str, words: str) -> AgentServerError:
    """The error a server reported in its stream: ``detail`` is logged, ``words`` (its
    message) shown to the user after the notice, unless they are internals
    (:func:`~core.agents.error_words.shown_words`)."""
    return AgentServerError(detail or "unspecified error", said=shown_words(words))


def _parse_chunk(chunk: Any, value: str, name: str | None) -> Delta:
    if not isinstance(chunk, dict):
        raise AgentProtocolError(f"unexpected stream chunk: {value[:200]!r}")
    error = chunk.get("error")
    if error or name == "error":
        message = error.get("message") if isinstance(error, dict) else error
        message = message or chunk.get("message")
        raise _reported(str(message or ""), message if isinstance(message, str) else "")
    choices = chunk.get("choices") or []
    if not isinstance(choices, list):
        raise AgentProtocolError(f"unexpected stream chunk: {value[:200]!r}")
    if not choices or not isinstance(choices[0], dict):
        return Delta()  # usage-only or keep-alive chunk
    choice = choices[0]
    delta = choice.get("delta") or {}
    if not isinstance(delta, dict):
        raise AgentProtocolError(f"unexpected stream chunk: {value[:200]!r}")
    return Delta(
        text=_text(delta.get("content")),
        reasoning=_text(delta.get("reasoning_content") or delta.get("reasoning")),
        finish_reason=choice.get("finish_reason"),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""
