"""The one exception Web API handlers raise: Slack's ``{"ok": false, "error": ...}``."""

from __future__ import annotations

__all__ = ["ApiError", "missing_scope"]


class ApiError(Exception):
    """A Slack error answer. HTTP 200 like Slack's, unless ``status`` says otherwise."""

    def __init__(
        self,
        error: str,
        *,
        status: int = 200,
        retry_after: int | None = None,
        detail: str | None = None,
        html: bool = False,
        extra: dict[str, object] | None = None,
    ) -> None:
        super().__init__(error if detail is None else f"{error}: {detail}")
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.detail = detail
        self.html = html  # answered as an HTML error page, as a gateway in front of Slack would
        self.extra = extra or {}  # more fields of the answer (missing_scope's needed/provided)

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": False, "error": self.error, **self.extra}
        if self.detail:
            # Slack adds hints under response_metadata for argument errors.
            body["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        return body


def missing_scope(needed: str, provided: frozenset[str] | set[str]) -> ApiError:
    """``missing_scope``, with the ``needed`` and ``provided`` fields Slack adds
    (docs.slack.dev apis/web-api, "Evaluating responses": "missing_scope … the token
    used is not granted the specific scope permissions required", answered with
    ``"needed": "<scope>"`` and ``"provided": "<scopes, comma-separated>"``)."""
    return ApiError(
        "missing_scope", extra={"needed": needed, "provided": ",".join(sorted(provided))}
    )
