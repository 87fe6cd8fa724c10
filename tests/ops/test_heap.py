"""The collector's pace is set only in a process the CLI runs (core/ops/heap.py); that
case runs in a child process, so this test run's own collector is left as it is."""

from __future__ import annotations

import gc
import subprocess
import sys

from core.ops import heap

_CHILD = """
import gc
from core.ops import heap

middle, old = gc.get_threshold()[1:]
heap.settle_this_process()
heap.settle()
print(gc.get_threshold() == (heap.YOUNG_THRESHOLD, middle, old))
"""


def test_an_in_process_bot_leaves_the_collector_as_it_is() -> None:
    before = gc.get_threshold()
    heap.settle()
    assert gc.get_threshold() == before


def test_a_cli_process_raises_the_young_threshold() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.split() == ["True"]
