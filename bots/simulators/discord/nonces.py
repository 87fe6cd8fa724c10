"""Create Message's ``nonce`` with ``enforce_nonce``: a retried create returns the message
the first try made instead of a second one.

discord-api-docs, Resources > Message, Create Message, JSON params: ``nonce`` (integer or
string, "can be used to verify a message was sent (up to 25 characters)"); ``enforce_nonce``
(boolean): "If true and nonce is present, it will be checked for uniqueness in the past few
minutes. If another message was created by the same author with the same nonce, that
message will be returned and no new message will be created." How many minutes is not
documented: :data:`NONCE_WINDOW` is the simulator's choice. discord.py documents the case
of the first message having been deleted meanwhile as ``NotFound`` ("You sent a message
with the same nonce as one that has been explicitly deleted shortly earlier",
discord/abc.py ``Messageable.send``): modelled as 404 Unknown Message (10008).
"""

from __future__ import annotations

from typing import Any

from .errors import ApiError, invalid_form

__all__ = ["NONCE_WINDOW", "Nonces"]

NONCE_WINDOW = 300.0
"""Seconds a nonce stays enforced ("the past few minutes")."""

_MAX_NONCE = 25


class Nonces:
    """The enforced nonces of recent creates: (author, nonce) → (channel, message, time)."""

    def __init__(self) -> None:
        self._seen: dict[tuple[int, str], tuple[int, int, float]] = {}

    @staticmethod
    def of(payload: dict[str, Any]) -> str | None:
        """The payload's nonce when enforced (validated as Discord does), else None."""
        nonce = payload.get("nonce")
        if nonce is None:
            return None
        if isinstance(nonce, str) and len(nonce) > _MAX_NONCE:
            raise invalid_form(
                "nonce", "BASE_TYPE_MAX_LENGTH", f"Must be {_MAX_NONCE} or fewer in length."
            )
        return str(nonce) if payload.get("enforce_nonce") is True else None

    def earlier(self, author: int, nonce: str, now: float) -> tuple[int, int] | None:
        """(channel, message) created by ``author`` with ``nonce`` within the window."""
        found = self._seen.get((author, nonce))
        if found is None or now - found[2] > NONCE_WINDOW:
            return None
        return found[0], found[1]

    def created(self, author: int, nonce: str, channel: int, message: int, now: float) -> None:
        self._seen[(author, nonce)] = (channel, message, now)
        if len(self._seen) % 256:
            return  # swept now and then, not on every create
        stale = [k for k, (_, _, t) in self._seen.items() if now - t > NONCE_WINDOW]
        for key in stale:
            del self._seen[key]

    @staticmethod
    def deleted() -> ApiError:
        return ApiError(404, 10008, "Unknown Message")
