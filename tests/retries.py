"""The relay's patience (:class:`~core.relay.sender.RetryPolicy`) changed for one test.

Tests that scale a scenario's time (an outage, a flood) shrink the relay's backoff and
timeouts in proportion, so the scenario keeps its shape in a tenth of the time; the product's
defaults are untouched.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from core.relay import relay as relay_module
from core.relay.sender import RetryPolicy

__all__ = ["patch_retry_policy", "scaled_backoff"]


def patch_retry_policy(monkeypatch: pytest.MonkeyPatch, **fields: Any) -> None:
    """Every relay the test builds from now on uses a ``RetryPolicy`` with ``fields``."""
    monkeypatch.setattr(relay_module, "RetryPolicy", functools.partial(RetryPolicy, **fields))


def scaled_backoff(scale: float) -> dict[str, float]:
    """The default backoff and its ceiling, ``scale`` times as long."""
    default = RetryPolicy()
    return {"backoff": default.backoff * scale, "max_backoff": default.max_backoff * scale}
