"""slack-sdk's exceptions → :mod:`core.errors`, at the boundary (see :func:`translate`).

Slack answers HTTP 200 with ``{"ok": false, "error": "<code>"}`` for most failures, and 429
with ``Retry-After`` for rate limits; slack-sdk raises ``SlackApiError`` for both. The core
only knows its own tree, so every call the adapter makes goes through :func:`translate`:

- 429 / ``ratelimited``, and chat.postMessage's ``rate_limited`` ("Application has posted
  too many messages", HTTP 200, no Retry-After) → :class:`RateLimited` naming the budget
  scope of the method called;
- ``msg_too_long`` (and ``invalid_blocks`` caused by size) → :class:`MessageTooLong` (a
  :class:`SlackTooLong`, naming the code: the text or the blocks);
- a file refused for what it is (``file_upload_size_restricted``, ``file_type_not_allowed``
  ...: files.getUploadURLExternal's errors) → :class:`SlackFileRefused`, a
  :class:`~core.errors.FileRefused`: the same file would be refused again, so never retried;
- ``message_not_found`` / ``cant_update_message`` / ``cant_delete_message`` →
  :class:`MessageGone` (the relay then continues in a new message);
- ``edit_window_closed`` (chat.update: "The message cannot be edited due to the team message
  edit settings": the workspace limits how long a message may be edited, and a long reply
  outlived it) → :class:`EditsClosed`, a :class:`MessageGone` the relay continues after once;
- any other code → :class:`SlackError` carrying the ``code``, so the surface can branch on
  it (a stream that expired, ``setStatus`` refused...), and saying what kind of failure it
  is (:attr:`SlackError.kind`);
- network failures, timeouts and 5xx without a code → :class:`SlackError` with
  ``code=None`` (transient); a 4xx without a code (no Slack JSON: the upload URL's
  answers, :mod:`adapters.slack.uploads`) is the request's fault (RFC 9110 §15.5, "Client
  Error 4xx"), a ``refused`` one.

The kinds, from the error lists of docs.slack.dev reference/methods/chat.postMessage,
chat.update and chat.startStream / appendStream / stopStream:

- ``token``: the bot token no longer works (``token_revoked``, ``invalid_auth``,
  ``account_inactive``...): nothing will work until the bot restarts with a valid
  ``SLACK_BOT_TOKEN``;
- ``place``: the thread's channel cannot take the reply (``not_in_channel``,
  ``channel_not_found``, ``is_archived``, ``is_inactive``, read-only or locked), or the
  thread is gone (``thread_not_found``: its parent was deleted): retrying changes nothing
  for the rest of the reply;
- ``transient``: Slack failed this time (``internal_error``, ``fatal_error``,
  ``service_unavailable``, ``request_timeout``, a 5xx, the network): worth a retry;
- ``refused``: anything else (this call's arguments or this method were refused).

Both ``token`` and ``place`` refusals are :class:`SlackUndeliverable` (a
:class:`~core.errors.Undeliverable`: never retried); ``transient`` failures are
:class:`SlackUnavailable` (a :class:`~core.errors.PlatformUnavailable`: a call that must get
through is retried for minutes).
"""

from __future__ import annotations

from typing import Literal

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError

from adapters.slack import texts
from core.errors import (
    EditsClosed,
    FileRefused,
    MessageGone,
    MessageTooLong,
    PlatformUnavailable,
    RateLimited,
    SurfaceError,
    Undeliverable,
)

__all__ = [
    "STREAM_ENDED",
    "ErrorKind",
    "SlackError",
    "SlackFileRefused",
    "SlackTooLong",
    "SlackUnavailable",
    "SlackUndeliverable",
    "slack_error",
    "translate",
]

STREAM_ENDED = "message_not_in_streaming_state"
"""The code Slack answers once a native stream has been stopped or has expired."""

ErrorKind = Literal["token", "place", "transient", "refused"]

_GONE = frozenset({"message_not_found", "cant_update_message", "cant_delete_message"})
# The message is still there, but no edit will ever change it again.
_EDITS_CLOSED = "edit_window_closed"
_TOO_LONG = frozenset({"msg_too_long", "msg_blocks_too_long", "too_many_blocks"})
_RATE_LIMITED = frozenset({"ratelimited", "rate_limited"})
_TOKEN = frozenset(
    {"token_revoked", "invalid_auth", "account_inactive", "token_expired", "not_authed"}
)
_PLACE = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "is_inactive",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_locked",
        # chat.postMessage: "Cannot post thread replies into a non_threadable channel";
        # "This message type cannot have thread replies".
        "restricted_action_non_threadable_channel",
        "cannot_reply_to_message",
        # files.completeUploadExternal: "Channel could not be found or channel specified is
        # invalid". (Not its posting_to_channel_denied: a channel may refuse files and still
        # take the notice that names them.)
        "invalid_channel",
        "ekm_access_denied",
        # The thread's parent was deleted (it had no replies yet): every post into the
        # thread is refused from then on ("when the pointed thread is no longer available
        # ... your app can ignore thread_not_found errors because your app no longer needs
        # to respond to it": slackapi/bolt-js#2307, a maintainer's answer).
        "thread_not_found",
    }
)
# files.getUploadURLExternal, Errors (docs.slack.dev reference/methods/
# files.getUploadURLExternal; the same list in Slack's method JSON, e.g. the slack_kit
# package's copy): "The size of provided file is too large, as the team has restricted
# uploads of large files", "The file type is not allowed", "Team has disabled all file
# uploads", "File uploads except images are disabled". ``file_too_large``: a file past
# Slack's own cap (the simulator's answer for it; not in the method's list).
_FILE_REFUSED = frozenset(
    {
        "file_upload_size_restricted",
        "file_type_not_allowed",
        "file_uploads_disabled",
        "file_uploads_except_images_disabled",
        "file_too_large",
    }
)
_TRANSIENT = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "update_failed"}
)
# Slack sends whole seconds; a 429 without the header still means "wait a moment".
_DEFAULT_RETRY_AFTER = 1.0


class SlackError(SurfaceError):
    """A Slack call failed; ``code`` is Slack's error code, None for network failures."""

    def __init__(
        self, method: str, code: str | None, detail: str = "", *, status: int = 200
    ) -> None:
        self.method = method
        self.code = code
        self.status = status
        reason = code or detail or "failed"
        super().__init__(f"{method}: {reason}")

    @property
    def kind(self) -> ErrorKind:
        """What this failure means for the calls that follow (see the module docstring)."""
        if self.code in _TOKEN:
            return "token"
        if self.code in _PLACE:
            return "place"
        if _transient(self.code, self.status):
            return "transient"
        return "refused"

    @property
    def transient(self) -> bool:
        return self.kind == "transient"


class SlackUndeliverable(SlackError, Undeliverable):
    """A ``token`` or ``place`` refusal: never retried (see the module docstring)."""


class SlackFileRefused(SlackError, FileRefused):
    """A file refused for what it is (its size, its type): never retried. Its ``reason``
    says so in the words of :mod:`adapters.slack.texts`."""

    def __init__(
        self, method: str, code: str | None, detail: str = "", *, status: int = 200
    ) -> None:
        super().__init__(method, code, detail, status=status)
        self.reason = texts.FILE_REFUSED.get(code or "", texts.FILE_TOO_LARGE)


class SlackTooLong(MessageTooLong):
    """Refused as too long; ``code`` says what: ``msg_too_long`` (the text: a streamed
    message's total counts too) or ``msg_blocks_too_long`` / ``too_many_blocks``."""

    def __init__(self, method: str, code: str) -> None:
        super().__init__(f"{method}: {code}")
        self.code = code


class SlackUnavailable(SlackError, PlatformUnavailable):
    """A ``transient`` failure: Slack's own error, a 5xx, the network (retried for minutes)."""


def slack_error(
    method: str, code: str | None, detail: str = "", *, status: int = 200
) -> SlackError:
    """The :class:`SlackError` for ``code``: :class:`SlackUndeliverable` when permanent."""
    if code in _TOKEN or code in _PLACE:
        return SlackUndeliverable(method, code, detail, status=status)
    if _transient(code, status):
        return SlackUnavailable(method, code, detail, status=status)
    if code in _FILE_REFUSED:
        return SlackFileRefused(method, code, detail, status=status)
    return SlackError(method, code, detail, status=status)


_REQUEST_TIMEOUT = 408


def _transient(code: str | None, status: int) -> bool:
    """Slack failed this time: a transient code, a 5xx, or no answer to read a code from
    (the network; not a 4xx, which refuses the request itself, but for a 408: the server
    gave up waiting for it, and the client "MAY repeat the request", RFC 9110 §15.5.9;
    Slack's edge answers an upload it timed out so, slack-go/slack#1108)."""
    if code is None:
        return status == _REQUEST_TIMEOUT or not 400 <= status < 500
    return code in _TRANSIENT or status >= 500


def translate(exc: BaseException, *, method: str, scope: str | None) -> SurfaceError:
    """The :mod:`core.errors` exception for ``exc`` raised by a call of ``method``.

    ``scope`` is the budget scope key the method draws on, reported with a 429 so the edit
    scheduler pauses (and slows) exactly that budget.
    """
    if isinstance(exc, SurfaceError):
        return exc
    if isinstance(exc, SlackApiError):
        return _api_error(exc, method, scope)
    if isinstance(exc, TimeoutError):
        return slack_error(method, None, "timed out")
    if isinstance(exc, aiohttp.ClientError | SlackClientError | OSError):
        return slack_error(method, None, f"{type(exc).__name__}: {exc}")
    return SlackError(method, None, f"unexpected {type(exc).__name__}: {exc}")


def _api_error(exc: SlackApiError, method: str, scope: str | None) -> SurfaceError:
    response = exc.response
    status = getattr(response, "status_code", 200)
    code = _code(exc)
    if status == 429 or code in _RATE_LIMITED:
        return RateLimited(_retry_after(exc), scope=scope)
    if code in _TOO_LONG:
        return SlackTooLong(method, code)
    if code == _EDITS_CLOSED:
        return EditsClosed(f"{method}: {code}")
    if code in _GONE:
        return MessageGone(f"{method}: {code}")
    if code is None and status >= 500:
        return slack_error(method, None, f"HTTP {status}", status=status)
    return slack_error(method, code, status=status)


def _code(exc: SlackApiError) -> str | None:
    try:
        code = exc.response.get("error")
    except (AttributeError, TypeError):
        return None
    return str(code) if code else None


def _retry_after(exc: SlackApiError) -> float:
    headers = getattr(exc.response, "headers", None) or {}
    for name, value in headers.items():
        if str(name).lower() == "retry-after":
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                break
    return _DEFAULT_RETRY_AFTER
