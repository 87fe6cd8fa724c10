"""The one exception Web API handlers raise: Slack's ``{"ok": false, "error": ...}``."""

from __future__ import annotations

__all__ = ["ApiError"]


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
    ) -> None:
        super().__init__(error if detail is None else f"{error}: {detail}")
        self.error = error
        self.status = status
        self.retry_after = retry_after
        self.detail = detail
        self.html = html  # answered as an HTML error page, as a gateway in front of Slack would

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"ok": False, "error": self.error}
        if self.detail:
            # Slack adds hints under response_metadata for argument errors.
            body["response_metadata"] = {"messages": [f"[ERROR] {self.detail}"]}
        return body
