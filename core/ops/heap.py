"""The garbage collector's settings for a running bot: fewer, cheaper collections.

A bot's replies allocate containers at a high rate (tasks, futures, coroutines, dicts of
parsed events), most of them alive for a while: with CPython's default thresholds
(700, 10, 10) the collector ran ~850 young, ~80 middle and 7 full collections in a run of
1,000 replies (``bench_discord.py --n 1000 --duration 2``), ~2 s of the bot's ~18 s of
CPU, walking the same live objects again and again (README, "CPU per streamed reply",
seventh pass). :func:`settle`, once start-up is done:

- collects the start-up's garbage once and moves what is left (~150,000 objects:
  modules, classes, the SDKs' tables, all living as long as the process) to the permanent
  generation (``gc.freeze()``), so no later collection walks them;
- raises the young generation's threshold to :data:`YOUNG_THRESHOLD` allocations, so
  a collection runs ~14× less often and most objects are gone before one looks at them.

Cyclic garbage is still collected, only later (at most some :data:`YOUNG_THRESHOLD`
allocations); reference counting frees everything else at once, as before. A frozen
object later dropped inside a reference cycle is not collected: start-up's objects live
as long as the process, and the platform connection's (which a reconnect replaces) are
made after :func:`settle`, so they stay collectable.

Only a process the CLI runs settles (:func:`settle_this_process`): a program or a test
run that starts a bot in-process keeps its collector as it is.
"""

from __future__ import annotations

import gc
import logging

__all__ = ["YOUNG_THRESHOLD", "settle", "settle_this_process"]

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000
"""Net container allocations between two young collections (CPython's default: 700)."""

_settling = False


def settle_this_process() -> None:
    """The CLI owns this process: :func:`settle` will tune its collector."""
    global _settling
    _settling = True


def settle() -> None:
    """Once start-up is done (before the bot serves): collect, freeze, raise the threshold."""
    if not _settling:
        return
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    log.debug("heap settled: %d objects frozen", gc.get_freeze_count())
