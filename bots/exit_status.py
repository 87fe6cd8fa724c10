"""The exit statuses of the ``threadcast`` command, in one place (the README lists them)."""

from __future__ import annotations

__all__ = ["AGENT_FAILED", "CONFIG", "INTERRUPTED", "OK", "REFUSED", "STORE_FAILED", "by_signal"]

OK = 0
AGENT_FAILED = 1
"""The agent failed (the partial reply was kept), or a chat platform failed at run time."""
CONFIG = 2
"""A setting is missing or invalid, or a service it names (Redis, Slack, Discord, the
agent's API at start-up) cannot be reached; also a usage error."""
REFUSED = 2
"""The message was refused (empty or over-long) and never reached the agent."""
STORE_FAILED = 3
"""Redis failed while the command ran."""
INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""


def by_signal(signum: int) -> int:
    """128 + the signal's number: how shells report a process ended by a signal."""
    return 128 + signum
