"""A pytest plugin (``-p tests.collection_gc`` in pyproject's ``addopts``): no cyclic garbage
collection while a test process starts, then none of its start-up heap collected again.

Each xdist worker imports every test module (and through them the whole bot stack) and
collects the ~1,500 tests. Meanwhile the collector, triggered every 700 allocations, walks
the growing heap of modules, classes and test items some 450 times, for almost nothing to
free: ~0.45 s of its own (``gc.callbacks``), and with the cache misses of walking that heap
a collect-only run took ~3.3 s of CPU with the collector and ~2.4 s without; twelve workers
starting and collecting (``-k`` deselecting every test) 43-45 s in all against 30-36 s. So
it is off from before the conftests load until the tests are collected; then what exists by
then, which lives as long as the process, is moved out of its sight (``gc.freeze()``, as
the gc module's documentation advises for a long-lived heap), so the full collections
during the tests do not walk it either.
"""

from __future__ import annotations

import gc
from collections.abc import Generator

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests() -> None:
    gc.disable()


@pytest.hookimpl(wrapper=True)
def pytest_collection() -> Generator[None, object, object]:
    # Around the collection, as every process calls it: a worker (or the only process)
    # collects here, the xdist controller (which collects nothing) returns at once.
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.enable()
