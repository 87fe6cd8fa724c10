"""Slack's rate limits as token buckets: per method, per workspace (or per channel), bursty.

Slack documents limits "per API method per app per workspace" in tiers (Tier 2 = 20+/min,
Tier 3 = 50+/min, Tier 4 = 100+/min, "sporadic bursts are welcome"), and ~1 message/s per
channel for ``chat.postMessage``. A bucket holds ``burst`` tokens and refills at
``per_minute / 60`` tokens per second; a call takes one token from every bucket its method
is subject to, or none at all when one of them is empty (then: 429 with ``Retry-After``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_RATE_RULES", "RateLimiter", "RateRule", "TokenBucket"]


@dataclass(frozen=True)
class RateRule:
    per_minute: float
    burst: int
    per: Literal["workspace", "channel"] = "workspace"


TIER2 = RateRule(per_minute=20, burst=5)
TIER3 = RateRule(per_minute=50, burst=10)
TIER4 = RateRule(per_minute=100, burst=20)

#: The simulator's defaults. Methods missing here are not limited.
DEFAULT_RATE_RULES: Mapping[str, tuple[RateRule, ...]] = {
    "chat.postMessage": (
        RateRule(per_minute=60, burst=3, per="channel"),
        RateRule(per_minute=300, burst=30),
    ),
    "chat.update": (TIER3,),
    "chat.delete": (TIER3,),
    "chat.startStream": (TIER2,),
    "chat.stopStream": (TIER2,),
    "chat.appendStream": (TIER4,),
    "files.getUploadURLExternal": (TIER4,),
    "files.completeUploadExternal": (TIER4,),
    "conversations.info": (RateRule(per_minute=50, burst=20),),
    "conversations.replies": (TIER3,),
    "users.info": (TIER4,),
    # "Tier 4: 100+ per minute" (assistant.threads.setTitle / setSuggestedPrompts: their
    # method JSON, e.g. the slack_kit package's copy; docs.slack.dev reference/methods/
    # assistant.threads.setTitle). setStatus says only "Special rate limits apply"
    # (docs.slack.dev reference/methods/assistant.threads.setStatus): no number to model.
    "assistant.threads.setTitle": (TIER4,),
    "assistant.threads.setSuggestedPrompts": (TIER4,),
    "apps.connections.open": (RateRule(per_minute=1, burst=10),),
}


class TokenBucket:
    def __init__(self, rule: RateRule, now: float) -> None:
        self.rule = rule
        self.tokens = float(rule.burst)
        self.updated = now

    @property
    def rate(self) -> float:
        return self.rule.per_minute / 60.0

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.rule.burst), self.tokens + elapsed * self.rate)
        self.updated = now

    def wait_time(self) -> float:
        """Seconds until one token is available (0 if one is)."""
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate

    def __repr__(self) -> str:
        return f"<TokenBucket {self.tokens:.2f}/{self.rule.burst} at {self.rule.per_minute}/min>"


class RateLimiter:
    """Owns every bucket; ``acquire`` answers None (go) or the Retry-After to send."""

    def __init__(
        self, rules: Mapping[str, tuple[RateRule, ...]], clock: Callable[[], float]
    ) -> None:
        self.rules: dict[str, tuple[RateRule, ...]] = dict(rules)
        self._clock = clock
        self._buckets: dict[tuple[str, str, str, int], TokenBucket] = {}

    def set_rules(self, method: str, rules: tuple[RateRule, ...]) -> None:
        self.rules[method] = rules
        self._buckets = {k: b for k, b in self._buckets.items() if k[0] != method}

    def acquire(self, method: str, team_id: str, channel: str | None) -> int | None:
        now = self._clock()
        buckets = [
            self._bucket(method, team_id, channel, index, rule, now)
            for index, rule in enumerate(self.rules.get(method, ()))
        ]
        for bucket in buckets:
            bucket.refill(now)
        wait = max((b.wait_time() for b in buckets), default=0.0)
        if wait > 0.0:
            # Slack sends whole seconds, never 0: a client that waits exactly Retry-After
            # then finds a token.
            return max(1, math.ceil(wait))
        for bucket in buckets:
            bucket.tokens -= 1.0
        return None

    def bucket(self, method: str, team_id: str, channel: str | None = None) -> TokenBucket | None:
        """The first bucket of a method (for tests that inspect the budget)."""
        return self._buckets.get((method, team_id, channel or "", 0)) or self._buckets.get(
            (method, team_id, "", 0)
        )

    def _bucket(
        self, method: str, team_id: str, channel: str | None, index: int, rule: RateRule, now: float
    ) -> TokenBucket:
        scope = (channel or "") if rule.per == "channel" else ""
        key = (method, team_id, scope, index)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(rule, now)
        return bucket
