"""Keep ``<think>…</think>`` reasoning out of the reply text, token by token.

Reasoning models open their reply with a ``<think>`` block. The tags may be split across
tokens (``<thi`` + ``nk>``), so a possible partial tag at the end of a token is held back
until the next one decides it. Only a block that opens before any visible text counts:
a reply that *mentions* ``<think>`` later (in a code sample, say) is left alone, since
eating the rest of an answer would be a worse failure than showing some reasoning.
"""

from __future__ import annotations

__all__ = ["ThinkFilter", "partial_suffix"]

_OPEN = "<think>"
_CLOSE = "</think>"


class ThinkFilter:
    """Split streamed text into (visible, reasoning); O(token) per call."""

    def __init__(self) -> None:
        self._pending = ""  # a possible partial tag held back from the previous token
        self._inside = False
        self._settled = False  # visible text seen: no reasoning block can start any more
        self._trim = False  # just left a block: drop the whitespace that follows it

    def feed(self, text: str) -> tuple[str, str]:
        if self._settled and not self._pending:
            return text, ""
        data = self._pending + text
        self._pending = ""
        visible: list[str] = []
        reasoning: list[str] = []
        start = 0
        while start < len(data):
            if self._inside:
                end = data.find(_CLOSE, start)
                if end < 0:
                    keep = partial_suffix(data, start, _CLOSE)
                    reasoning.append(data[start:keep])
                    self._pending = data[keep:]
                    break
                reasoning.append(data[start:end])
                start = end + len(_CLOSE)
                self._inside = False
                self._trim = True
                continue
            if self._settled:
                visible.append(data[start:])
                break
            rest = data[start:]
            if self._trim:
                rest = rest.lstrip()
                start = len(data) - len(rest)
                if not rest:
                    break
                self._trim = False
            stripped = rest.lstrip()
            lead = len(rest) - len(stripped)
            if stripped.startswith(_OPEN):
                visible.append(rest[:lead])
                start += lead + len(_OPEN)
                self._inside = True
                continue
            if _OPEN.startswith(stripped):  # only whitespace and maybe "<thi" so far
                visible.append(rest[:lead])
                self._pending = stripped
                break
            self._settled = True
            visible.append(rest)
            break
        return "".join(visible), "".join(reasoning)

    def flush(self) -> tuple[str, str]:
        """What was held back when the stream ends (an unfinished tag is plain text)."""
        pending, self._pending = self._pending, ""
        if self._inside:
            return "", pending
        return pending, ""


def partial_suffix(data: str, start: int, tag: str) -> int:
    """Index where a suffix of ``data[start:]`` that could begin ``tag`` starts."""
    for size in range(min(len(tag) - 1, len(data) - start), 0, -1):
        if tag.startswith(data[len(data) - size :]):
            return len(data) - size
    return len(data)
