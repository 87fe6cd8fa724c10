"""Every error threadcast raises, as one tree.

Adapters and agent clients translate the exceptions of the libraries underneath
(httpx, redis, slack_sdk, discord) into these at their boundary, so the core only
ever handles this tree::

    ThreadcastError
    ├── ConfigError              a setting is missing or invalid (names the variable)
    ├── AgentError               the agent could not answer; ``notice`` is shown to the user
    │   ├── AgentAuthError         401: bad API key
    │   │   └── AgentForbiddenError    403: the key may not use this agent or model
    │   ├── AgentCreditsError      429 from the agent API: out of credits / quota
    │   │   └── AgentRateLimitedError  a 429 that is a rate limit (``retry_after``), not a quota
    │   ├── AgentNotFoundError     404: unknown agent id
    │   ├── AgentServerError       5xx, or ``[ERROR]`` inside the stream
    │   │   └── AgentRefusedError      a 503: refused before it ran (``retry_after``)
    │   ├── AgentTimeoutError      connect, first-token or idle-gap timeout
    │   └── AgentProtocolError     truncated stream (no ``[DONE]``) or unreadable payload
    ├── SessionStoreError        Redis unreachable or failing
    ├── ArtifactError            an artifact could not be fetched or is too large
    └── SurfaceError             a chat platform call failed
        ├── RateLimited            429: wait ``retry_after`` seconds (scope says which budget)
        ├── MessageGone            the message to edit was deleted
        │   └── EditsClosed          it is there, but may not be edited any more
        ├── MessageTooLong         the platform refused the text's size
        ├── FileRefused            the platform refused a file for what it is (size, type)
        ├── Undeliverable          the place (or the bot's token) takes nothing any more
        └── PlatformUnavailable    a 5xx, a timeout, the platform unreachable: try later

``RateLimited`` is a ``SurfaceError`` but carries what the edit scheduler needs to adapt.
"""

from __future__ import annotations

from core import texts

__all__ = [
    "AgentAuthError",
    "AgentCreditsError",
    "AgentError",
    "AgentForbiddenError",
    "AgentNotFoundError",
    "AgentProtocolError",
    "AgentRateLimitedError",
    "AgentRefusedError",
    "AgentServerError",
    "AgentTimeoutError",
    "ArtifactError",
    "ConfigError",
    "EditsClosed",
    "FileRefused",
    "MessageGone",
    "MessageTooLong",
    "PlatformUnavailable",
    "RateLimited",
    "SessionStoreError",
    "SurfaceError",
    "ThreadcastError",
    "Undeliverable",
    "agent_failure_kind",
]


class ThreadcastError(Exception):
    """Base of every error threadcast raises on purpose."""


class ConfigError(ThreadcastError):
    """A setting is missing or invalid; the message names the environment variable."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        super().__init__(f"{variable}: {problem}")


class AgentError(ThreadcastError):
    """The agent failed; ``notice`` is the sentence a chat user sees, and ``said`` the
    agent's own words about it when it reported the error in its reply (a Lyzr
    ``[ERROR] <message>``), shown after the notice. ``detail`` is for logs only.
    ``retry_after``: the seconds the server asked to wait before the request is sent again
    (None: it did not say), which only a refusal before the request ran makes worth it
    (:class:`AgentRateLimitedError`, :class:`AgentRefusedError`)."""

    notice = texts.AGENT_FAILED

    def __init__(
        self,
        detail: str = "",
        *,
        status: int | None = None,
        said: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.detail = detail
        self.status = status
        self.said = said
        self.retry_after = retry_after
        super().__init__(f"{self.notice} {detail}".strip())


class AgentAuthError(AgentError):
    notice = texts.AGENT_AUTH


class AgentForbiddenError(AgentAuthError):
    """A 403: not (only) a bad key. OpenAI answers it for a model the project may not use
    or a region it does not serve, OpenRouter for a moderation refusal: "rejected the API
    key" would send the operator to the wrong place."""

    notice = texts.AGENT_FORBIDDEN


class AgentCreditsError(AgentError):
    notice = texts.AGENT_CREDITS


class AgentRateLimitedError(AgentCreditsError):
    """A 429 that is not an exhausted quota: the request was refused before it ran, so it
    may be sent again after ``retry_after`` seconds (None: the server did not say)."""


class AgentNotFoundError(AgentError):
    notice = texts.AGENT_NOT_FOUND


class AgentServerError(AgentError):
    notice = texts.AGENT_SERVER


class AgentRefusedError(AgentServerError):
    """A 503: the server refused the request before handling it, so it may be sent again,
    after ``retry_after`` seconds if the server named them (None: it did not)."""


class AgentTimeoutError(AgentError):
    notice = texts.AGENT_TIMEOUT


class AgentProtocolError(AgentError):
    notice = texts.AGENT_PROTOCOL


class SessionStoreError(ThreadcastError):
    """Redis is unreachable or failing."""

    notice = texts.STORE_UNAVAILABLE


class ArtifactError(ThreadcastError):
    """An artifact could not be fetched, or is larger than allowed.

    ``reason``: why, in the words a chat user reads (``texts.ARTIFACT_*``, chosen by the
    kind of failure in :mod:`core.models`); the message is for logs (it names exceptions,
    statuses and addresses). ``show_link``: whether the user may be shown ``url``, False
    when the link leads inside the network (its host or address is not theirs to learn)."""

    def __init__(
        self,
        name: str,
        problem: str,
        *,
        url: str | None = None,
        reason: str | None = None,
        show_link: bool = True,
    ) -> None:
        self.name = name
        self.url = url
        self.reason = reason or texts.download_failed()
        self.show_link = show_link
        super().__init__(f"{name}: {problem}")


class SurfaceError(ThreadcastError):
    """A chat platform call failed. (The files of an upload posted before it failed are
    counted in the caller's :class:`~core.surface.Upload`, not here: a try cut off
    by a timeout raises no error of the surface's.)

    ``reason``: why, in the words a chat user reads (the adapter's texts module), when the
    adapter has them (a file refused, a permission missing); the message itself is for logs
    (it names the platform's method, code and status). Without one, the core says what
    kind of failure it was (:mod:`core.relay.attachments`)."""

    def __init__(self, *args: object, reason: str | None = None) -> None:
        super().__init__(*args)
        self.reason = reason


class RateLimited(SurfaceError):
    """The platform answered 429.

    ``scope`` names the budget that was exhausted (one of the scope keys the surface
    declared), or is ``None`` when the platform did not say; the scheduler then pauses
    every scope of the request.
    """

    def __init__(self, retry_after: float, *, scope: str | None = None) -> None:
        self.retry_after = max(0.0, retry_after)
        self.scope = scope
        super().__init__(f"rate limited for {self.retry_after:.2f}s (scope={scope})")


class MessageGone(SurfaceError):
    """The message being edited no longer exists; the relay continues in a new one."""


class EditsClosed(MessageGone):
    """The message is there but may not be edited any more (Slack: the workspace's edit
    window closed): the relay continues in a new message; if that one may not be edited
    even once, the window is too short for streaming and its edits fail as any refused
    edit, the final text then posted anew."""


class MessageTooLong(SurfaceError):
    """The platform refused the text as too long."""


class FileRefused(SurfaceError):
    """The platform refused an upload for what its files are: too large (Slack
    ``file_upload_size_restricted``, Discord 413 / 40005), a type the workspace disallows.
    Sending the same files again cannot help, so it is never retried; the caller sends
    the files of a refused group one by one, and names the one refused (with its
    ``reason``, see :class:`SurfaceError`)."""


class Undeliverable(SurfaceError):
    """The platform will take nothing more there: the channel was deleted or archived, the
    bot removed from it, or its token revoked. Retrying cannot help, so it is never retried;
    the reply ends with what it showed."""


class PlatformUnavailable(SurfaceError):
    """The platform failed this time, not because of the request: a 5xx, a gateway's error
    page, a timeout, the network. Outages last minutes, so a call that must get through is
    retried for that long (unlike a refusal, which a few tries settle)."""


def agent_failure_kind(error: AgentError) -> str:
    """The kind an operator reads in the log and the metrics: auth, credits, not_found,
    server, timeout, protocol, or other."""
    for kind, cls in (
        ("auth", AgentAuthError),
        ("credits", AgentCreditsError),
        ("not_found", AgentNotFoundError),
        ("server", AgentServerError),
        ("timeout", AgentTimeoutError),
        ("protocol", AgentProtocolError),
    ):
        if isinstance(error, cls):
            return kind
    return "other"
