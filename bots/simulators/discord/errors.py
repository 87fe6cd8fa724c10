"""Discord's error responses, with the JSON codes discord.py and the bot will see.

Shape (discord-api-docs, Opcodes and Status Codes > JSON Error Codes)::

    {"code": 50035, "message": "Invalid Form Body",
     "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "..."}]}}}
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .responses import json_response

__all__ = [
    "ApiError",
    "already_acknowledged",
    "empty_message",
    "invalid_form",
    "too_large",
    "unauthorized",
    "unknown",
]


class ApiError(Exception):
    """Raised by a route handler; the middleware turns it into Discord's error JSON."""

    def __init__(
        self, status: int, code: int, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            body["errors"] = self.errors
        return body

    def response(self) -> web.Response:
        return json_response(self.body(), status=self.status)


def invalid_form(path: str, error_code: str, message: str) -> ApiError:
    """400 / 50035 with the error nested at a dotted path (``embeds.0.description``)."""
    errors: dict[str, Any] = {"_errors": [{"code": error_code, "message": message}]}
    for part in reversed(path.split(".")):
        errors = {part: errors}
    return ApiError(400, 50035, "Invalid Form Body", errors)


def empty_message() -> ApiError:
    return ApiError(400, 50006, "Cannot send an empty message")


def too_large() -> ApiError:
    return ApiError(413, 40005, "Request entity too large")


def unauthorized() -> ApiError:
    return ApiError(401, 0, "401: Unauthorized")


def already_acknowledged() -> ApiError:
    return ApiError(400, 40060, "Interaction has already been acknowledged.")


_UNKNOWN = {
    "channel": (10003, "Unknown Channel"),
    "message": (10008, "Unknown Message"),
    "user": (10013, "Unknown User"),
    "interaction": (10062, "Unknown interaction"),
    "webhook": (10015, "Unknown Webhook"),
    "command": (10063, "Unknown application command"),
}


def unknown(kind: str) -> ApiError:
    """404 for a missing channel, message, user, interaction, webhook or command."""
    code, message = _UNKNOWN[kind]
    return ApiError(404, code, message)
