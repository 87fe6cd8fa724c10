"""The collector is tuned only in a process the CLI runs (core/ops/heap.py); the tuned
case runs in a child process, so this test run's own collector is left as it is."""

from __future__ import annotations

import gc
import subprocess
import sys

from core.ops import heap

_CHILD = """
import gc, weakref
from core.ops import heap

class Node:
    pass

kept = [[n] for n in range(1000)]  # start-up's objects, still referenced
cycle = Node()
cycle.me = cycle  # start-up's garbage, freed only by a collection
gone = weakref.ref(cycle)
del cycle
heap.settle_this_process()
heap.settle()
print(gc.get_freeze_count() >= len(kept), gone() is None,
      gc.get_threshold()[0] == heap.YOUNG_THRESHOLD)
"""


def test_an_in_process_bot_leaves_the_collector_as_it_is() -> None:
    before = gc.get_freeze_count(), gc.get_threshold()
    heap.settle()
    assert (gc.get_freeze_count(), gc.get_threshold()) == before


def test_a_cli_process_collects_freezes_and_raises_the_threshold() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True", "True", "True"]
