"""The sentences the relay shows a chat user, as one value it is given.

The wording is :mod:`core.texts`'s; a caller that needs other texts (the console shows no
failure notice) passes a different :class:`Notices` to :class:`~core.relay.relay.Relay`.
Texts are Markdown; the relay renders them with the surface, like the agent's own text.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core import texts
from core.errors import AgentError
from core.models import FINISH_REASON_KEY

__all__ = ["DEFAULT_NOTICES", "Notices", "with_notice"]


@dataclass(frozen=True, slots=True)
class Notices:
    """The relay's user-visible texts; ``{...}`` fields are filled by the methods below."""

    thinking: str = texts.THINKING
    queued: str = texts.QUEUED
    working: str = texts.WORKING
    stopped: str = texts.STOPPED
    withdrawn: str = texts.QUESTION_DELETED
    failed: str = texts.FAILED
    agent_said: str = texts.AGENT_SAID
    empty_reply: str = texts.EMPTY_REPLY
    artifact_failed: str = texts.ARTIFACT_FAILED
    artifact_link: str = texts.ARTIFACT_LINK
    structured_title: str = texts.STRUCTURED_TITLE
    cut_short: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: dict(texts.CUT_SHORT), hash=False
    )

    def failure(self, error: AgentError) -> str:
        """The notice added to a reply the agent could not finish, with the agent's own
        words about it when it gave some."""
        notice = self.failed.format(notice=error.notice)
        if error.said:
            notice += self.agent_said.format(message=" ".join(error.said.split()))
        return notice

    def ended_early(self, metadata: Mapping[str, Any]) -> str | None:
        """The notice for a reply the model ended before it was complete (its
        ``finish_reason`` on the final chunk: ``length``, ``content_filter``), else None.
        Such a reply is complete as far as the agent goes, but never cut silently."""
        reason = metadata.get(FINISH_REASON_KEY)
        notice = self.cut_short.get(reason) if isinstance(reason, str) else None
        return self.failed.format(notice=notice) if notice else None

    def artifacts_failed(self, failures: Sequence[tuple[str, str, str]]) -> str:
        """One message naming every artifact that could not be attached, with its link."""
        lines = []
        for name, url, reason in failures:
            line = self.artifact_failed.format(name=name, reason=reason)
            lines.append(line + (self.artifact_link.format(url=url) if url else ""))
        return "\n".join(lines)

    def structured_fallback(self, data: BaseModel) -> str:
        """A readable text form of structured output, for surfaces without a native layout."""
        lines = [self.structured_title]
        for field, value in data.model_dump(mode="json").items():
            label = field.replace("_", " ").capitalize()
            if isinstance(value, dict | list):
                shown = f"`{json.dumps(value, ensure_ascii=False)}`"
            else:
                shown = str(value)
            lines.append(f"• **{label}**: {shown}")
        return "\n".join(lines)


DEFAULT_NOTICES = Notices()


def with_notice(body: str, note: str, *, limit: int) -> tuple[str, str | None]:
    """The last page's text with ``note`` (both rendered) after it, and what must follow in
    a message of its own: ``note`` when the page has no room left for it. Shared by the
    writer and the crash-recovery reaper, so a reply ends the same way in both."""
    joined = f"{body}\n\n{note}" if body.strip() else note
    if len(joined) <= limit:
        return joined, None
    return body, note
