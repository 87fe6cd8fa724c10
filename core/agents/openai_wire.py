"""The OpenAI chat-completions streaming format, as a pure function.

Each SSE ``data:`` line holds one JSON chunk; the text is ``choices[0].delta.content``
(``reasoning_content`` on some servers carries reasoning), and ``data: [DONE]`` ends it.
A server may report a failure mid-stream as a chunk with an ``error`` object.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.agents.sse import data_field
from core.errors import AgentProtocolError, AgentServerError

__all__ = ["Delta", "Finished", "parse_chunk_line"]


@dataclass(frozen=True, slots=True)
class Delta:
    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Finished:
    pass


def parse_chunk_line(line: str) -> Delta | Finished | None:
    """One SSE line → a delta, the end marker, or ``None``; raises on errors."""
    value = data_field(line)
    if value is None:
        return None
    if value.strip() == "[DONE]":
        return Finished()
    try:
        chunk: Any = json.loads(value)
    except ValueError:
        raise AgentProtocolError(f"unreadable stream chunk: {value[:200]!r}") from None
    if not isinstance(chunk, dict):
        raise AgentProtocolError(f"unexpected stream chunk: {value[:200]!r}")
    if "error" in chunk:
        error = chunk["error"]
        message = error.get("message") if isinstance(error, dict) else error
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
