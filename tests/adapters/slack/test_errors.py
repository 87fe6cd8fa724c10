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
    for code in ("message_not_found", "edit_window_closed"):  # the latter: no edit ever again
        assert isinstance(translate(_api_error(code), method="m", scope=None), MessageGone)
    other = translate(_api_error("channel_not_found"), method="chat.postMessage", scope=None)
    assert isinstance(other, SlackError) and other.code == "channel_not_found"
    assert str(other) == "chat.postMessage: channel_not_found"
    server = translate(_api_error(None, 503), method="m", scope=None)
    assert isinstance(server, SlackError) and server.code is None and "503" in str(server)


def test_network_errors_and_timeouts() -> None:
    for exc in (aiohttp.ClientConnectionError("refused"), TimeoutError(), OSError("reset")):
        error = translate(exc, method="chat.update", scope=None)
        assert isinstance(error, SlackError) and error.code is None


def test_kinds_say_what_a_failure_means_for_the_next_calls() -> None:
    from adapters.slack.errors import SlackUndeliverable
    from core.errors import Undeliverable

    def kind(code: str | None, status: int = 200) -> str:
        error = translate(_api_error(code, status), method="chat.update", scope=None)
        assert isinstance(error, SlackError)
        return error.kind

    for code in ("token_revoked", "invalid_auth", "account_inactive"):
        assert kind(code) == "token"
    place = (
        "not_in_channel", "channel_not_found", "is_archived", "is_inactive",
        # The thread is gone, or cannot take replies (chat.postMessage's Errors)...
        "thread_not_found", "restricted_action_non_threadable_channel",
        "cannot_reply_to_message", "restricted_action_thread_locked",
        "restricted_action_read_only_channel",
        # ... or the channel cannot take files (files.completeUploadExternal's Errors).
        "invalid_channel",
    )  # fmt: skip
    for code in place:
        assert kind(code) == "place", code
        error = translate(_api_error(code), method="chat.postMessage", scope=None)
        assert isinstance(error, SlackUndeliverable) and isinstance(error, Undeliverable)
    transient: list[tuple[str | None, int]] = [
        ("internal_error", 500), ("fatal_error", 200), ("request_timeout", 200),
        ("service_unavailable", 503), (None, 502),
    ]  # fmt: skip
    for passing, status in transient:
        assert kind(passing, status) == "transient", passing
    assert kind("invalid_blocks") == "refused"
    posted = translate(_api_error("rate_limited"), method="chat.postMessage", scope="p")
    assert isinstance(posted, RateLimited) and posted.retry_after == 1.0 and posted.scope == "p"
