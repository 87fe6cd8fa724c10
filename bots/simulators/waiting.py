"""How long a test's wait on a simulator may take before it gives up."""

from __future__ import annotations

__all__ = ["WAIT"]

WAIT = 20.0
"""Seconds. Generous on purpose: a wait returns as soon as its condition holds, so only a
failing test pays the full bound, while a short one turns a loaded machine's slowness (CI, or
the suite's parallel workers on two cores) into false failures."""
