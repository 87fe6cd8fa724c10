"""Translating slack-sdk exceptions into core.errors."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.slack_response import SlackResponse

from adapters.slack.errors import SlackError, translate
from core.errors import MessageGone, MessageTooLong, RateLimited


def _api_error(error: str | None, status: int = 200, headers: dict[str, str] | None = None):
    data = {"ok": False} | ({"error": error} if error else {})
    response = SlackResponse(
        client=None,
        http_verb="POST",
        api_url="https://slack.test/api/chat.update",
        req_args={},
        data=data,
        headers=headers or {},
        status_code=status,
    )
    return SlackApiError("failed", response)  # type: ignore[no-untyped-call]


def test_rate_limit_carries_retry_after_and_scope() -> None:
    error = translate(
        _api_error("ratelimited", 429, {"Retry-After": "12"}), method="chat.update", scope="s"
    )
    assert isinstance(error, RateLimited) and error.retry_after == 12 and error.scope == "s"
    bare = translate(_api_error(None, 429), method="chat.update", scope=None)
    assert isinstance(bare, RateLimited) and bare.retry_after == 1.0


def test_codes_map_to_the_core_tree() -> None:
    assert isinstance(translate(_api_error("msg_too_long"), method="m", scope=None), MessageTooLong)
    assert isinstance(
        translate(_api_error("message_not_found"), method="m", scope=None), MessageGone
    )
    other = translate(_api_error("channel_not_found"), method="chat.postMessage", scope=None)
    assert isinstance(other, SlackError) and other.code == "channel_not_found"
    assert str(other) == "chat.postMessage: channel_not_found"
    server = translate(_api_error(None, 503), method="m", scope=None)
    assert isinstance(server, SlackError) and server.code is None and "503" in str(server)


def test_network_errors_and_timeouts() -> None:
    for exc in (aiohttp.ClientConnectionError("refused"), TimeoutError(), OSError("reset")):
        error = translate(exc, method="chat.update", scope=None)
        assert isinstance(error, SlackError) and error.code is None
