"""The Lyzr streaming wire format, as pure functions (DESIGN §2).

Each SSE line ``data: <token>`` carries plain, escaped text. ``data: [DONE]`` ends the
reply and ``data: [ERROR] <message>`` reports a failure. Everything else (blank separators,
``event:``/``id:`` fields, ``:`` comments) carries no text.

The body is read line by line, as every Lyzr client reads it: two ``data:`` lines of one
event are two tokens, joined with nothing between them (not the SSE spec's ``\\n``): Lyzr
escapes a token's newlines, and lyzr-adk 0.1.12 (``lyzr/inference.py``,
``InferenceModule.stream``: ``"".join(full_content)``), lyzr-kit 0.2.2
(``lyzr_kit/commands/agent_chat.py``: ``buffer += decoded_data``) and the studio
(``src/pages/studio/components/chatbox.tsx``: ``buffer += decodedData``) all append each
line's value as it is. One event is framed whole: one named ``error`` (no Lyzr client
reads ``event:``, so what it carries is not documented): its data, JSON or text, is the
error (:class:`Frames`).

An error's message is what the user is shown, so a JSON one is read for its words
(``detail``, ``error``, ``message``; :func:`error_text`), never shown raw, and words that
are internals (a stack trace, an address) are not shown at all
(:func:`core.agents.error_words.shown_words`).

A data line may also be a JSON object: lyzr-adk's ``lyzr/inference.py``
(``InferenceModule.stream``) ``json.loads`` every data line and reads ``content``; tool and
thinking events come the same way (``{"type": "local_tool_call", ...}``). An object is read
as an event only when it has the keys of one (:func:`_frame`): ``content`` is text (already
JSON-decoded, so not unescaped again), a tool event becomes a :class:`Status`, a thinking
event :class:`Reasoning`. Any other line, JSON or not, is plain text: a model that writes
``{"a": 1}`` in one token keeps it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from core.agents.error_words import SHOWN_CAP  # an error's message is shown to the user
from core.agents.sse import data_field

__all__ = [
    "Done",
    "Failed",
    "Frames",
    "LyzrEvent",
    "Reasoning",
    "Status",
    "Token",
    "error_text",
    "parse_line",
    "unescape",
]


@dataclass(frozen=True, slots=True)
class Token:
    text: str


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    """The agent reported an error; ``message`` is its words ("" when it gave none)."""

    message: str


@dataclass(frozen=True, slots=True)
class Status:
    """The agent is doing something besides writing: ``kind`` ``"tool"``, with the tool's
    ``name`` when the event says it."""

    kind: str
    name: str | None


@dataclass(frozen=True, slots=True)
class Reasoning:
    """A thinking event's text: kept out of the reply."""

    text: str


LyzrEvent = Token | Done | Failed | Status | Reasoning

_DONE = "[DONE]"
_ERROR = "[ERROR]"

# One regex, one pass: every escape is decoded exactly once, so ``\\\\n`` stays a backslash
# followed by ``n`` and ``&amp;lt;`` stays ``&lt;``. Surrogate pairs come first so an
# escaped emoji (``\\ud83d\\ude00``) becomes one character.
_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|\\u([0-9a-fA-F]{4})"
    r"|\\([ntr\"'\\&])"
    r"|&(quot|apos|lt|gt|amp);"
)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\", "&": "&"}
_ENTITIES = {"quot": '"', "apos": "'", "lt": "<", "gt": ">", "amp": "&"}


def _replace(match: re.Match[str]) -> str:
    high, low, code, simple, entity = match.groups()
    if high is not None:
        return chr(0x10000 + ((int(high, 16) - 0xD800) << 10) + (int(low, 16) - 0xDC00))
    if code is not None:
        value = int(code, 16)
        # A lone surrogate cannot be encoded as UTF-8 later (Slack, Discord, the terminal).
        return "\ufffd" if 0xD800 <= value <= 0xDFFF else chr(value)
    if simple is not None:
        return _SIMPLE[simple]
    return _ENTITIES[entity]


def unescape(token: str) -> str:
    """Decode the escapes Lyzr puts into tokens; unknown escapes are kept as they are."""
    if "\\" not in token and "&" not in token:
        return token
    return _ESCAPE.sub(_replace, token)


def parse_line(line: str) -> LyzrEvent | None:
    """One SSE line → an event, or ``None`` for lines that carry nothing."""
    value = data_field(line)
    if value is None:
        return None
    # Trailing blanks are not part of the marker (Lyzr's own studio client trims the value
    # before comparing); leading ones are a token's own: " [DONE]" is text the agent wrote.
    if value.rstrip() == _DONE:
        return Done()
    if value.startswith(_ERROR):
        return Failed(error_text(value[len(_ERROR) :]))
    if value.startswith("{") and value.endswith("}"):
        event = _frame(value)
        if event is not None:
            return event
    return Token(unescape(value))


_TEXT_TYPES = frozenset({"content", "text", "token", "delta", "message"})
_THINKING_TYPES = frozenset({"thinking", "reasoning", "thought"})


def _frame(value: str) -> LyzrEvent | None:
    """The event a JSON data line stands for, or ``None`` if it is not one."""
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    kind, content = data.get("type"), data.get("content")
    if isinstance(kind, str) and kind.lower() == "error":
        return Failed((_words(data) or "")[:SHOWN_CAP])
    # {"error": ...} alone: a typed event (a tool's result) may carry a tool's error and
    # the reply goes on; "error": null is no error.
    if kind is None and content is None and data.get("error"):
        return Failed((_words(data) or "")[:SHOWN_CAP])
    if isinstance(kind, str):
        kind = kind.lower()
        if "tool" in kind:  # local_tool_call, tool_call, tool_result, ...
            return Status("tool", _tool_name(data))
        if kind in _THINKING_TYPES:
            return Reasoning(content if isinstance(content, str) else "")
        if kind not in _TEXT_TYPES:
            return None
    return Token(content) if isinstance(content, str) else None


def _tool_name(event: dict[str, Any]) -> str | None:
    """The tool an event names. lyzr-adk's local tools wrap it as ``function.arguments``'s
    ``tool_name`` (``function.name`` is then the generic ``local_tool``), so an explicit
    ``tool_name``, here or nested, wins over a plain ``name``."""
    function = event.get("function")
    explicit = _explicit_tool(event, depth=0)
    if explicit:
        return explicit
    if isinstance(event.get("name"), str) and event["name"]:
        return str(event["name"])
    if isinstance(function, dict) and isinstance(function.get("name"), str):
        return str(function["name"]) or None
    return None


def _explicit_tool(event: dict[str, Any], *, depth: int) -> str | None:
    for key in ("tool_name", "tool"):
        if isinstance(event.get(key), str) and event[key]:
            return str(event[key])
    if depth >= 2:
        return None
    function = event.get("function")
    nested = [event.get("arguments"), event.get("data")]
    if isinstance(function, dict):
        nested.insert(0, function.get("arguments"))
    for inner in nested:
        if isinstance(inner, str) and inner.startswith("{"):
            try:
                inner = json.loads(inner)
            except ValueError:
                continue
        if isinstance(inner, dict):
            found = _explicit_tool(inner, depth=depth + 1)
            if found:
                return found
    return None


_MESSAGE_KEYS = ("detail", "error", "message", "msg")


def error_text(value: str) -> str:
    """An error's words: a JSON body's ``detail``/``error``/``message`` (FastAPI's list of
    ``{"msg": ...}`` too), else the text; "" when there are none."""
    value = value.strip()
    if value.startswith(_ERROR):
        value = value[len(_ERROR) :].strip()
    if value[:1] in ("{", "[", '"'):
        try:
            data = json.loads(value)
        except ValueError:
            pass
        else:
            return (_words(data) or "")[:SHOWN_CAP]
    return value[:SHOWN_CAP]


def _words(data: Any, depth: int = 0) -> str | None:
    if isinstance(data, str):
        return data.strip() or None
    if depth > 3:
        return None
    if isinstance(data, dict):
        for key in _MESSAGE_KEYS:
            found = _words(data.get(key), depth + 1)
            if found:
                return found
        return None
    if isinstance(data, list):
        return "; ".join(w for item in data if (w := _words(item, depth + 1))) or None
    return None


class Frames:
    """The lines :func:`parse_line` does not read alone: ``event:`` fields, blank lines,
    comments, and every line of an event named ``error``, which ends the reply with its
    data as the error once the event is complete (a blank line, or the body's end:
    :meth:`flush`). Any other event's ``data:`` lines go to :func:`parse_line` one by one.
    """

    __slots__ = ("_error", "_name")

    def __init__(self) -> None:
        self._name: str | None = None
        self._error: list[str] = []

    @property
    def in_error(self) -> bool:
        """An ``error`` event is open: its ``data:`` lines come here too."""
        return self._name == "error"

    def feed(self, line: str) -> Failed | None:
        if not line:
            return self.flush()
        if self._name == "error":
            value = data_field(line)
            if value is not None:
                self._error.append(value)
            return None
        if line.startswith("event:"):
            self._name = line[6:].strip() or None
        return None

    def flush(self) -> Failed | None:
        """The error event still open, if any (the SSE spec dispatches an event with data
        only; one with none is dropped)."""
        if self._name is None:  # the usual blank line: between two tokens
            return None
        name, lines = self._name, self._error
        self._name, self._error = None, []
        if name != "error" or not lines:
            return None
        return Failed(error_text("\n".join(lines)))
