"""No echo of typed keys while a reply streams.

A terminal echoes what is typed (and ``^C`` for Ctrl-C) at the cursor, which during a
reply sits at the end of the region the styled view redraws in place: an echo there
shifts the lines the redraw then erases, and the streaming text ends up on screen twice.
So while a turn runs, the terminal's ECHO flag is off; keys typed ahead are still read
afterwards (at the next prompt). NOFLSH is set meanwhile, so that Ctrl-C does not make
the terminal discard output it has not shown yet. Restored however the turn ends.
"""

from __future__ import annotations

import contextlib
import sys
import termios
from collections.abc import Iterator
from typing import TextIO

__all__ = ["echo_off"]


@contextlib.contextmanager
def echo_off(stdin: TextIO = sys.stdin) -> Iterator[None]:
    """Turn the terminal's echo off for the block (nothing when stdin is no terminal)."""
    try:
        fd = stdin.fileno()
        saved = termios.tcgetattr(fd)
    except (OSError, ValueError, termios.error):
        yield  # not a terminal (a pipe, a file, a closed stdin)
        return
    quiet = list(saved)
    # NOFLSH too: Ctrl-C would otherwise discard output not yet shown, half a redraw.
    quiet[3] = (quiet[3] & ~termios.ECHO) | termios.NOFLSH
    with contextlib.suppress(termios.error):
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
    try:
        yield
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSANOW, saved)
