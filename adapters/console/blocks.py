"""Where a growing Markdown text can be cut: its finished blocks and the block still growing.

A terminal cannot redraw what has scrolled off the screen, so a streaming reply is shown
as blocks printed once (they scroll like any output) and one block redrawn in place. A
block is finished once a blank line follows it and the next block has begun with a line
that is not indented (an indented line could still belong to it: a list item's second
paragraph, an indented code block). A blank line inside a fenced code block cuts nothing.
Rendering each finished part on its own costs the same as rendering it once, and keeps
every redraw as small as the block that grows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Fence", "finished_prefix", "insert_cursor", "open_fence_at", "tail_lines"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True, slots=True)
class Fence:
    """An open code fence: its line (to reopen it) and its marker."""

    line: str
    marker: str

    def closed_by(self, line: str) -> bool:
        stripped = line.strip()
        return stripped.startswith(self.marker[0] * len(self.marker)) and set(stripped) == {
            self.marker[0]
        }


def _step(fence: Fence | None, line: str) -> Fence | None:
    """The fence state after ``line``."""
    if fence is not None:
        return None if fence.closed_by(line) else fence
    match = _FENCE.match(line)
    if match is None or (match.group(1)[0] == "`" and "`" in line[match.end() :]):
        return None
    return Fence(line=line, marker=match.group(1))


def finished_prefix(text: str, start: int = 0) -> int:
    """The end of the finished blocks of ``text``; ``start`` must be such an end (or 0)."""
    fence: Fence | None = None
    end = start
    blank_before = False
    position = start
    for line in text[start:].splitlines(keepends=True):
        if not line.endswith("\n"):
            # The last, unfinished line: it may start a block, which ends the one before.
            if blank_before and fence is None and line[:1] not in ("", " ", "\t"):
                end = position
            break
        content = line.rstrip("\n")
        if fence is None and blank_before and content and not content[0].isspace():
            end = position
        blank_before = fence is None and not content.strip()
        fence = _step(fence, content)
        position += len(line)
    return end


def open_fence_at(text: str) -> Fence | None:
    """The code fence left open at the end of ``text``, if any."""
    fence: Fence | None = None
    for line in text.splitlines():
        fence = _step(fence, line)
    return fence


def insert_cursor(text: str, cursor: str) -> str:
    """``text`` with ``cursor`` after its last character, inside a code block that a
    closing fence ends (the relay closes an open block while it streams)."""
    head, newline, last = text.rstrip("\n").rpartition("\n")
    if newline and open_fence_at(head) is not None and open_fence_at(text) is None:
        return f"{head}{cursor}\n{last}"
    return text + cursor


def tail_lines(text: str, count: int) -> str:
    """The last ``count`` lines of ``text``, reopening a code fence cut off above them."""
    lines = text.splitlines(keepends=True)
    if len(lines) <= count:
        return text
    cut = len(lines) - count
    fence = open_fence_at("".join(lines[:cut]))
    rest = "".join(lines[cut:])
    return f"{fence.line}\n{rest}" if fence is not None else rest
