"""GFM pipe tables → an aligned plain-text table in a Slack code block (pure).

The table is found and laid out by :mod:`adapters.markdown_tables` (shared with Discord);
here its cells are reduced to their plain text and its lines escaped, as Slack's ``text``
needs everywhere, code included.
"""

from __future__ import annotations

from collections.abc import Sequence

from adapters import markdown_tables
from adapters.slack.inline import escape

__all__ = ["table_at"]


def table_at(lines: Sequence[str], start: int) -> tuple[list[str], int] | None:
    """When ``lines[start]`` is the header of a table, its rendered lines and the index of
    the first line after it; else ``None``.

    A table is a header row, a delimiter row with as many cells, then every following line
    that holds a pipe. A streamed page may stop anywhere in it: the rows so far are shown.
    """
    found = markdown_tables.table_at(lines, start, markdown_tables.plain_cell)
    if found is None:
        return None
    laid_out, end = found
    return ["```", *map(escape, laid_out), "```"], end
