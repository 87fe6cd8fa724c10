"""The Lyzr streaming wire format, as pure functions (DESIGN §2).

Each SSE line ``data: <token>`` carries plain, escaped text, not JSON. ``data: [DONE]``
ends the reply and ``data: [ERROR] <message>`` reports a failure. Everything else (blank
separators, ``event:``/``id:`` fields, ``:`` comments) carries no text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.agents.sse import data_field

__all__ = ["Done", "Failed", "LyzrEvent", "Token", "parse_line", "unescape"]


@dataclass(frozen=True, slots=True)
class Token:
    text: str


@dataclass(frozen=True, slots=True)
class Done:
    pass


@dataclass(frozen=True, slots=True)
class Failed:
    message: str


LyzrEvent = Token | Done | Failed

_DONE = "[DONE]"
_ERROR = "[ERROR]"

# One regex, one pass: every escape is decoded exactly once, so ``\\\\n`` stays a backslash
# followed by ``n`` and ``&amp;lt;`` stays ``&lt;``. Surrogate pairs come first so an
# escaped emoji (``\\ud83d\\ude00``) becomes one character.
_ESCAPE = re.compile(
    r"\\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2})"
    r"|\\u([0-9a-fA-F]{4})"
    r"|\\([ntr\"'\\])"
    r"|&(quot|apos|lt|gt|amp);"
)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "'": "'", "\\": "\\"}
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
    if value == _DONE:
        return Done()
    if value.startswith(_ERROR):
        return Failed(value[len(_ERROR) :].strip() or "unspecified error")
    return Token(unescape(value))
