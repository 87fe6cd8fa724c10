"""How long an agent stream may let its text gather before the next read.

Why: an agent streams 20 or more chunks a second, and reading each one as it lands costs a
wake-up, a ``recv``, the HTTP, SSE and JSON parse and the generator chain up to the relay,
per chunk (tests/bench/README.md, "CPU per streamed reply"). The relay shows a reply far less often:
at most once a second per Discord thread, every ~20 s when 1,000 replies share the global
budget. When the text already waits that long for its next edit, a read held back a small
share of that wait finds several chunks in the socket at once and costs one pass instead of
several, and the reply's staleness grows by at most that share.

The relay's pump sets :data:`READ_HOLD` in its task (the agent's generators run in that
task's context); :func:`core.agents.transport.read_lines` asks it after each read. Nothing
else sets it, so a stream read outside a relay is read chunk by chunk as before.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar

__all__ = ["READ_HOLD"]

READ_HOLD: ContextVar[Callable[[], float] | None] = ContextVar("threadcast_read_hold", default=None)
"""Seconds the stream being read may wait before its next read (0: read at once)."""
