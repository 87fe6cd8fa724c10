"""Slack's request signature, checked on the raw bytes before anything reads them.

docs.slack.dev authentication/verifying-requests-from-slack: Slack signs each request with
``X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<body>" under the signing
secret>`` and sends the Unix time in ``X-Slack-Request-Timestamp``; a request older (or
newer) than five minutes is refused, so a captured one cannot be replayed later.

Checking here, on bytes, means an unsigned request is refused whatever it contains (bad
JSON, an array, bytes that are not UTF-8, a timestamp that is not a number) without being
decoded, parsed or logged: bolt's own check runs after it has parsed the body, and logs
every refused body at INFO.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Mapping

__all__ = ["SignatureCheck"]

MAX_AGE = 300.0  # seconds, either way: Slack's replay window
_VERSION = "v0"


class SignatureCheck:
    """``check(body, headers)``: whether Slack signed this request, now."""

    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret.encode()
        self._clock = clock

    def __call__(self, body: bytes, headers: Mapping[str, str]) -> bool:
        stamp = headers.get("X-Slack-Request-Timestamp", "")
        signature = headers.get("X-Slack-Signature", "")
        if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
            return False
        if abs(self._clock() - int(stamp)) > MAX_AGE:
            return False
        base = f"{_VERSION}:{stamp}:".encode() + body
        expected = f"{_VERSION}=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace"))
