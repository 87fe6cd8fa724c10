"""The terminal as a chat surface (``threadcast chat`` / ``ask``).

:func:`choose_view` picks how replies look: Markdown in colour, growing in place, on a
terminal; plain text over a pipe, into a file, on a ``dumb`` terminal, or when ``NO_COLOR``
is set (https://no-color.org: any non-empty value).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from rich.console import Console

from adapters.console.plain import PlainView
from adapters.console.styled import StyledView
from adapters.console.surface import ConsoleSurface, ReplyView

__all__ = ["ConsoleSurface", "PlainView", "ReplyView", "StyledView", "choose_view"]


def choose_view(*, out: TextIO, info: TextIO, environ: Mapping[str, str] = os.environ) -> ReplyView:
    """A styled view when ``out`` is a terminal that may have colours, else a plain one."""
    plain = not out.isatty() or bool(environ.get("NO_COLOR")) or environ.get("TERM") == "dumb"
    if plain:
        return PlainView(out=out, info=info)
    return StyledView(
        console=Console(file=out, highlight=False), errors=Console(file=info, highlight=False)
    )
