"""GFM pipe tables → an aligned plain-text table in a Slack code block (pure).

Slack's mrkdwn has no tables, and a proportional font cannot line up columns, so a table is
shown as monospaced text: the header, a rule, the rows, each column padded to its widest
cell and aligned as the delimiter row asks. Inline Markdown inside a cell would show as
literal markers in a code block, so cells are reduced to their plain text first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from adapters.slack.inline import escape

__all__ = ["table_at"]

_DELIMITER_CELL = re.compile(r"[ \t]*(:?)-+(:?)[ \t]*")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\(([^()\s]*)\)")
_INLINE_MARKERS = re.compile(r"\*\*|~~|`")


def table_at(lines: Sequence[str], start: int) -> tuple[list[str], int] | None:
    """When ``lines[start]`` is the header of a table, its rendered lines and the index of
    the first line after it; else ``None``.

    A table is a header row, a delimiter row with as many cells, then every following line
    that holds a pipe. A streamed page may stop anywhere in it: the rows so far are shown.
    """
    if start + 1 >= len(lines) or "|" not in lines[start] or "|" not in lines[start + 1]:
        return None
    header = _cells(lines[start])
    aligns = _alignments(lines[start + 1])
    if aligns is None or len(aligns) != len(header):
        return None
    rows = [header]
    end = start + 2
    while end < len(lines) and "|" in lines[end] and lines[end].strip():
        rows.append(_cells(lines[end]))
        end += 1
    return _render(rows, aligns), end


def _cells(line: str) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [_plain(cell.replace("\\|", "|").strip()) for cell in _UNESCAPED_PIPE.split(body)]


def _alignments(line: str) -> list[str] | None:
    """The alignment of each column ("<", "^", ">"), or ``None`` if not a delimiter row."""
    body = line.strip().removeprefix("|").removesuffix("|")
    aligns: list[str] = []
    for cell in body.split("|"):
        match = _DELIMITER_CELL.fullmatch(cell)
        if match is None:
            return None
        left, right = match.groups()
        aligns.append("^" if left and right else ">" if right else "<")
    return aligns


def _plain(cell: str) -> str:
    return _INLINE_MARKERS.sub("", _LINK.sub(r"\1 (\2)", cell))


def _width(text: str) -> int:
    """Columns the text takes in a monospaced font: wide CJK/emoji take two, marks none."""
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, width: int, align: str) -> str:
    gap = width - _width(text)
    if align == ">":
        return " " * gap + text
    if align == "^":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _render(rows: list[list[str]], aligns: list[str]) -> list[str]:
    columns = max(len(row) for row in rows)  # a long row keeps its extra cells: no text lost
    aligns = aligns + ["<"] * (columns - len(aligns))
    rows = [row + [""] * (columns - len(row)) for row in rows]
    widths = [max(1, *(_width(row[c]) for row in rows)) for c in range(columns)]

    def line(row: list[str]) -> str:
        cells = (_pad(cell, widths[c], aligns[c]) for c, cell in enumerate(row))
        return escape(" | ".join(cells).rstrip())

    rule = "-+-".join("-" * width for width in widths)
    return ["```", line(rows[0]), rule, *(line(row) for row in rows[1:]), "```"]
