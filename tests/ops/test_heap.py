"""The collector's pace is set only in a process the CLI runs (core/ops/heap.py); that
case runs in a child process, so this test run's own collector is left as it is."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from bots.cli import main
from core.ops import heap

_CHILD = """
import gc
from core.ops import heap

middle, old = gc.get_threshold()[1:]
with heap.serving():
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


def test_a_service_run_in_process_leaves_the_collector_as_it_was() -> None:
    """The CLI's ``main`` run in a test's process (``tests/bots/slack/test_startup.py``)
    marks it only while its service runs: a bot started in-process afterwards, in the same
    xdist worker, leaves the collector alone (it once found the threshold at 10,000)."""
    before = gc.get_threshold()
    with heap.serving():
        heap.settle()
        assert gc.get_threshold()[0] == heap.YOUNG_THRESHOLD
    assert gc.get_threshold() == before
    heap.settle()
    assert gc.get_threshold() == before


def test_the_cli_run_in_process_leaves_no_mark_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """What happened in a full run: ``main(["slack"])`` ended at its configuration in a
    worker, and a later test of that worker found the collector's pace changed."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    before = gc.get_threshold()
    assert main(["slack"]) == 2  # SLACK_BOT_TOKEN: required but not set
    heap.settle()
    assert gc.get_threshold() == before
