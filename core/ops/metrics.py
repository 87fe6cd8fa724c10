"""Prometheus metrics of one process, in a registry of threadcast's own.

A registry of our own (not prometheus-client's global default) keeps the library's process
collectors and any other package's metrics out of ``/metrics`` and lets tests read exactly
what threadcast counted. Call sites use the small functions below, never the metric objects,
so each event is counted in one line; every one is O(1) and called per turn or per surface
call, never per chunk.

``platform`` is the turn's platform (``slack``, ``discord``, ``console``…) where it is known.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, get_args

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

__all__ = [
    "CONTENT_TYPE",
    "REGISTRY",
    "WebhookDrop",
    "agent_failed",
    "edit_sent",
    "exposition",
    "first_visible",
    "rate_limited",
    "redis_error",
    "text_shown",
    "turn_finished",
    "turn_started",
    "webhook_delivered",
    "webhook_dropped",
]

# No ``_created`` sample (the time each counter and histogram series was created) beside
# each series: it doubles the series count /metrics exports for a value Prometheus does not
# need to compute rates, and many operators turn it off. Read at exposition, for every
# metric of the process (prometheus-client keeps it process-wide).
disable_created_metrics()  # type: ignore[no-untyped-call]  # prometheus-client leaves it untyped

REGISTRY = CollectorRegistry(auto_describe=True)
CONTENT_TYPE = CONTENT_TYPE_LATEST

# Seconds: the first bucket is what a fast agent and platform achieve; the last ones are
# a slow model's first token and an edit budget shared by hundreds of replies.
_LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0, 30.0, 60.0)

_TURNS_STARTED = Counter(
    "threadcast_turns_started", "Turns that reached the agent.", ["platform"], registry=REGISTRY
)
_TURNS_FINISHED = Counter(
    "threadcast_turns_finished",
    "Turns whose reply ended, by how it ended.",
    ["platform", "status"],
    registry=REGISTRY,
)
_TURNS_FAILED = Counter(
    "threadcast_turns_failed",
    "Turns whose reply failed (agent error or timeout); also counted in turns_finished.",
    ["platform"],
    registry=REGISTRY,
)
_AGENT_FAILURES = Counter(
    "threadcast_agent_failures",
    "Turns the agent failed to answer, by kind (auth, credits, not_found, server, timeout, "
    "protocol, other).",
    ["platform", "kind"],
    registry=REGISTRY,
)
_EDITS = Counter(
    "threadcast_edits",
    "Surface calls that showed reply text, by kind (post a message, edit it).",
    ["platform", "action"],
    registry=REGISTRY,
)
_RATE_LIMITED = Counter(
    "threadcast_rate_limited", "429 answers received from a platform.", ["platform"],
    registry=REGISTRY,
)  # fmt: skip
_REDIS_ERRORS = Counter(
    "threadcast_redis_errors", "Redis calls that failed or timed out.", registry=REGISTRY
)
_LOCKS_LOST = Counter(
    "threadcast_locks_lost",
    "Conversation locks a turn stopped trusting before it ended: expired without a "
    "confirmed extend, or taken over (core.sessions.lock).",
    registry=REGISTRY,
)
_WEBHOOK_DELIVERED = Counter(
    "threadcast_feedback_webhook_delivered",
    "Votes the feedback webhook's receiver accepted (a 2xx answer).",
    registry=REGISTRY,
)
_WEBHOOK_DROPPED = Counter(
    "threadcast_feedback_webhook_dropped",
    "Votes the feedback webhook will never deliver, by reason: gave_up (every try failed), "
    "refused (a 4xx other than 429), overflow (the backlog full), shutdown (still queued "
    "when the drain ran out), unconfirmed (its POST cut off by the shutdown: the receiver "
    "may have it), error (the body or the URL could not be sent).",
    ["reason"],
    registry=REGISTRY,
)
WebhookDrop = Literal["gave_up", "refused", "overflow", "shutdown", "unconfirmed", "error"]
for _reason in get_args(WebhookDrop):  # every reason exported from the start, at 0
    _WEBHOOK_DROPPED.labels(_reason)
_FIRST_VISIBLE = Histogram(
    "threadcast_first_visible_seconds",
    "From the start of a reply to its first text visible in the thread.",
    ["platform"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
_STALENESS = Histogram(
    "threadcast_staleness_seconds",
    "Per completed update: age of the oldest text it newly shows.",
    ["platform"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
_ACTIVE = Gauge(
    "threadcast_active_streams", "Replies streaming now.", ["platform"], registry=REGISTRY
)


def turn_started(platform: str) -> None:
    _TURNS_STARTED.labels(platform).inc()
    _ACTIVE.labels(platform).inc()


def turn_finished(platform: str, status: str) -> None:
    """``status``: completed, failed or cancelled (the relay's verdict)."""
    _TURNS_FINISHED.labels(platform, status).inc()
    if status == "failed":
        _TURNS_FAILED.labels(platform).inc()
    _ACTIVE.labels(platform).dec()


def agent_failed(platform: str, kind: str) -> None:
    """One turn the agent failed (``kind``: see :func:`core.errors.agent_failure_kind`)."""
    _AGENT_FAILURES.labels(platform, kind).inc()


def edit_sent(platform: str, action: str) -> None:
    """``action``: post or edit."""
    _EDITS.labels(platform, action).inc()


def first_visible(platform: str, seconds: float) -> None:
    _FIRST_VISIBLE.labels(platform).observe(max(0.0, seconds))


def text_shown(platform: str, staleness: float) -> None:
    _STALENESS.labels(platform).observe(max(0.0, staleness))


def rate_limited(scope_keys: Sequence[str]) -> None:
    """One 429; the platform is the prefix of the budget scope's key (``slack:T1:…``)."""
    platform = scope_keys[0].split(":", 1)[0] if scope_keys else "unknown"
    _RATE_LIMITED.labels(platform).inc()


def redis_error() -> None:
    _REDIS_ERRORS.inc()


def lock_lost() -> None:
    _LOCKS_LOST.inc()


def webhook_delivered() -> None:
    _WEBHOOK_DELIVERED.inc()


def webhook_dropped(reason: WebhookDrop, votes: int = 1) -> None:
    _WEBHOOK_DROPPED.labels(reason).inc(votes)


def exposition() -> bytes:
    """The registry in Prometheus' text format, for ``GET /metrics``."""
    return generate_latest(REGISTRY)
