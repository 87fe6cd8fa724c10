"""The garbage collector's pace in a running bot: fewer collections, each finding more
garbage.

A bot's replies allocate containers at a high rate (tasks, futures, coroutines, dicts of
parsed events), and many of them are still alive a moment later: with CPython's default
thresholds (700, 10, 10) the collector ran ~850 young, ~80 middle and 7 full collections
in a run of 1,000 replies (``bench_discord.py --n 1000 --duration 2``), ~2 s of the bot's
~18 s of CPU, walking the same live objects again and again (tests/bench/README.md, "CPU per
streamed reply", seventh pass). :func:`settle` raises the young generation's threshold to
:data:`YOUNG_THRESHOLD` net allocations once start-up is done: a collection runs ~14×
less often, most objects are gone before one looks at them, and the full collections
(every 10 × 10 young ones) become as rare. In the same run: 47 young, 5 middle and no
full collection, ~0.6 s.

Cyclic garbage is still collected, only later; reference counting frees everything else
at once, as before. Only while the CLI runs a service (:func:`serving`) does :func:`settle`
act: a program or a test run that starts a bot in-process keeps its collector as it is,
also after calling the CLI's ``main`` in-process (the pace it had is restored when the
service ends).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["YOUNG_THRESHOLD", "serving", "settle"]

YOUNG_THRESHOLD = 10_000
"""Net container allocations between two young collections (CPython's default: 700)."""

_settling = False


@contextmanager
def serving() -> Iterator[None]:
    """While the CLI runs a service in this process: :func:`settle` sets the collector's
    pace. Afterwards, the pace the process had (a test's process calling ``main`` goes on
    with its own)."""
    global _settling
    before = gc.get_threshold()
    _settling = True
    try:
        yield
    finally:
        _settling = False
        gc.set_threshold(*before)


def settle() -> None:
    """Once start-up is done (before the bot serves): the young threshold raised."""
    if not _settling:
        return
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
