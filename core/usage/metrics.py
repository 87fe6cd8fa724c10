"""Per-agent Prometheus figures, in threadcast's registry (:mod:`core.ops.metrics`).

Labelled by agent name only, never by user, channel or route: those are unbounded, and
each label value is a time series a scraper keeps; per-user and per-channel figures are
in Redis (:mod:`core.usage.book`, ``threadcast usage``). ``refused`` counts messages not
answered by reason (access rule or quota kind): a small, fixed set.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from core.ops.metrics import REGISTRY
from core.usage.book import TurnUsage

__all__ = ["agent_turn", "turn_refused"]

# Seconds: a fast model's first token, up to an agent that runs tools for minutes.
_FIRST_TOKEN_BUCKETS = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)


def _per_agent(name: str, documentation: str) -> Counter:
    """A counter labelled by agent name only, in threadcast's registry."""
    return Counter(name, documentation, ["agent"], registry=REGISTRY)


_TURNS = _per_agent("threadcast_agent_turns", "Turns answered, per agent.")
_ERRORS = _per_agent("threadcast_agent_errors", "Replies the agent failed, per agent.")
_CHARS_IN = _per_agent("threadcast_agent_chars_in", "Characters sent to the agent.")
_CHARS_OUT = _per_agent("threadcast_agent_chars_out", "Characters the agent streamed.")
_SECONDS = _per_agent("threadcast_agent_seconds", "Seconds the agent spent streaming replies.")
_FIRST_TOKEN = Histogram(
    "threadcast_agent_first_token_seconds",
    "From the request to the agent's first text.",
    ["agent"],
    buckets=_FIRST_TOKEN_BUCKETS,
    registry=REGISTRY,
)
_REFUSED = Counter(
    "threadcast_turns_refused",
    "Messages not answered: an access rule (workspace, channel, dm, user, role) or a quota "
    "(user_turns, channel_turns, concurrent).",
    ["reason"],
    registry=REGISTRY,
)


def agent_turn(usage: TurnUsage) -> None:
    """One answered turn (per turn, never per chunk)."""
    agent = usage.agent
    _TURNS.labels(agent).inc()
    _CHARS_IN.labels(agent).inc(usage.chars_in)
    _CHARS_OUT.labels(agent).inc(usage.chars_out)
    _SECONDS.labels(agent).inc(usage.agent_seconds)
    if usage.time_to_first_token is not None:
        _FIRST_TOKEN.labels(agent).observe(usage.time_to_first_token)
    if usage.error:
        _ERRORS.labels(agent).inc()


def turn_refused(reason: str) -> None:
    _REFUSED.labels(reason).inc()
