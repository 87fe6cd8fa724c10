"""Fake time (looptime) for tests that run wholly in memory: no socket, no other process,
no thread, nothing outside the event loop that could wake it.

looptime moves its clock only after ``noop_cycles`` turns of the loop (42 by default) in
which nothing was ready, so that what comes from outside (I/O, a thread's callback) lands
before time jumps. Those turns run only when no callback is ready; in a test with nothing
outside they can change nothing, and only cost CPU: the scheduler's 100 fake seconds of
sixty replies took 375,000 turns of the loop, 5 s (tests/relay/test_scheduler.py). With
``IN_MEMORY`` time jumps at the first idle turn. A test with a socket, a server, Redis or a
subprocess keeps the default marker.
"""

from __future__ import annotations

import pytest

IN_MEMORY = pytest.mark.looptime(noop_cycles=0)
