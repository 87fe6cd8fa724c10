"""GFM pipe tables → aligned monospaced lines (pure; shared by the Slack and Discord renderers).

Neither Slack's mrkdwn nor Discord's Markdown has tables, and a proportional font cannot
line up columns, so each platform shows a table as monospaced text in a code block: the
header, a rule, the rows, each column padded to its widest cell and aligned as the
delimiter row asks. This module finds a table and lays it out; what a cell's text becomes
(inline Markdown reduced to plain text, which a code block would show as markers) and how
the lines are escaped and fenced is the platform's (:mod:`adapters.slack.tables`,
:mod:`adapters.discord.markdown`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence

__all__ = ["Cell", "plain_cell", "rows_at", "table_at"]

Cell = Callable[[str], str]
"""What a cell's Markdown (pipes unescaped, trimmed) is shown as."""

_DELIMITER_CELL = re.compile(r"[ \t]*(:?)-+(:?)[ \t]*")
_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_LINK = re.compile(r"!?\[([^\[\]]*)\]\(([^()\s]*)\)")
_INLINE_MARKERS = re.compile(r"\*\*|~~|`")


def plain_cell(cell: str) -> str:
    """A cell's inline Markdown as plain text: links as ``text (url)``, no bold, strike or
    code markers (inside a code block they would show as written)."""
    if "[" in cell:
        cell = _LINK.sub(r"\1 (\2)", cell)
    if "*" in cell or "~" in cell or "`" in cell:
        cell = _INLINE_MARKERS.sub("", cell)
    return cell


def table_at(lines: Sequence[str], start: int, cell: Cell) -> tuple[list[str], int] | None:
    """When ``lines[start]`` is the header of a table, its lines laid out (header, rule,
    rows; neither fenced nor escaped) and the index of the first line after it; else
    ``None``.

    A table is a header row, a delimiter row with as many cells, then every following line
    that holds a pipe. A streamed page may stop anywhere in it: the rows so far are shown.
    """
    if start + 1 >= len(lines) or "|" not in lines[start] or "|" not in lines[start + 1]:
        return None
    header = _cells(lines[start], cell)
    aligns = _alignments(lines[start + 1])
    if aligns is None or len(aligns) != len(header):
        return None
    rows = [header]
    end = start + 2
    while end < len(lines) and "|" in lines[end] and lines[end].strip():
        rows.append(_cells(lines[end], cell))
        end += 1
    return _layout(rows, aligns, rule=True), end


def rows_at(lines: Sequence[str], start: int, cell: Cell) -> tuple[list[str], int] | None:
    """Rows without their header, as a page cut inside a table begins: the lines from
    ``start`` that open and close with a pipe (two or more cells), laid out without a rule
    and left-aligned (the delimiter row is on the page before); else ``None``."""
    end = start
    while end < len(lines) and _is_row(lines[end]):
        end += 1
    if end == start:
        return None
    return _layout([_cells(line, cell) for line in lines[start:end]], [], rule=False), end


def _is_row(line: str) -> bool:
    body = line.strip()
    return len(body) > 2 and body[0] == "|" and body[-1] == "|" and body[-2] != "\\"


def _cells(line: str, cell: Cell) -> list[str]:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    if "\\" not in body:  # no escaped pipe: a plain split (the common row, and cheaper)
        return [cell(text.strip()) for text in body.split("|")]
    return [cell(text.replace("\\|", "|").strip()) for text in _UNESCAPED_PIPE.split(body)]


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


def _width(text: str) -> int:
    """Columns the text takes in a monospaced font: wide CJK/emoji take two, marks none."""
    if text.isascii():
        return len(text)
    width = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _pad(text: str, gap: int, align: str) -> str:
    if align == ">":
        return " " * gap + text
    if align == "^":
        return " " * (gap // 2) + text + " " * (gap - gap // 2)
    return text + " " * gap


def _layout(rows: list[list[str]], aligns: list[str], *, rule: bool) -> list[str]:
    columns = max(len(row) for row in rows)  # a long row keeps its extra cells: no text lost
    aligns = aligns + ["<"] * (columns - len(aligns))
    rows = [row + [""] * (columns - len(row)) for row in rows]
    sizes = [[_width(cell) for cell in row] for row in rows]  # each measured once
    widths = [max(1, *(size[c] for size in sizes)) for c in range(columns)]

    def line(row: list[str], size: list[int]) -> str:
        cells = [_pad(row[c], widths[c] - size[c], aligns[c]) for c in range(columns)]
        return " | ".join(cells).rstrip()

    lines = [line(row, size) for row, size in zip(rows, sizes, strict=True)]
    if rule:
        lines.insert(1, "-+-".join("-" * width for width in widths))
    return lines
