"""Turn streamed text into :class:`AgentStream` chunks, the same way for every backend.

One :class:`ReplyBuilder` per reply numbers the chunks, keeps ``<think>`` reasoning out of
the text, remembers the text only when something needs it whole (structured output, chat
history), and assembles the final chunk: ``done=True``, empty ``content``, the artifacts
and the parsed ``structured_data``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel

from core import texts
from core.agents.inline_artifacts import ArtifactsFilter
from core.agents.structured import parse_structured
from core.agents.think import ThinkFilter
from core.models import STATUS_KEY, UNREADABLE_ARTIFACTS_KEY, AgentStream, Artifact

__all__ = ["ReplyBuilder"]


class ReplyBuilder:
    """Chunks of one reply in ``session_id``."""

    def __init__(
        self,
        session_id: str,
        *,
        response_format: type[BaseModel] | None = None,
        keep_text: bool = False,
        inline_artifacts: bool = False,
    ) -> None:
        """``inline_artifacts``: keep ``<artifacts>`` blocks out of the text and read their
        files (:mod:`core.agents.inline_artifacts`; Lyzr's)."""
        self.session_id = session_id
        self.response_format = response_format
        self._keep = keep_text or response_format is not None
        self._parts: list[str] = []
        self._reasoning: list[str] = []
        self._think = ThinkFilter()
        self._blocks = ArtifactsFilter() if inline_artifacts else None
        self._text_ended = False
        self._index = 0

    def text(self, token: str) -> AgentStream | None:
        """The chunk for one streamed token, or ``None`` if nothing of it is visible."""
        visible, reasoning = self._think.feed(token)
        if reasoning:
            self._reasoning.append(reasoning)
        if self._blocks is not None and visible:
            visible = self._blocks.feed(visible)
        return self._chunk(visible)

    def tool(self, name: str | None) -> AgentStream:
        """A progress chunk: the agent is running ``name`` (no text)."""
        metadata: dict[str, Any] = {STATUS_KEY: texts.tool_status(name)}
        if name:
            metadata["tool"] = name
        return AgentStream(
            content="",
            delta="",
            session_id=self.session_id,
            chunk_index=self._next_index(),
            metadata=metadata,
        )

    def reasoning(self, text: str) -> None:
        """Reasoning a backend sends apart from the text (``reasoning_content``)."""
        if text:
            self._reasoning.append(text)

    def end_text(self) -> list[AgentStream]:
        """The chunk of any text held back until the end (once); after it,
        :attr:`announced` is complete."""
        if self._text_ended:
            return []
        self._text_ended = True
        visible, reasoning = self._think.flush()
        if reasoning:
            self._reasoning.append(reasoning)
        if self._blocks is not None:
            visible = self._blocks.feed(visible) + self._blocks.flush()
        held = self._chunk(visible)
        return [] if held is None else [held]

    @property
    def announced(self) -> list[Artifact]:
        """The files the text's ``<artifacts>`` blocks listed (with ``inline_artifacts``)."""
        return [] if self._blocks is None else self._blocks.found

    @property
    def full_text(self) -> str:
        """The visible text so far (only kept when ``keep_text`` or a response format)."""
        return "".join(self._parts)

    def finish(
        self,
        *,
        artifacts: Iterable[Artifact] = (),
        metadata: dict[str, Any] | None = None,
    ) -> list[AgentStream]:
        """The last chunks: any held-back text (unless :meth:`end_text` gave it already),
        then the final ``done`` chunk."""
        chunks = self.end_text()
        meta = dict(metadata or {})
        if self._blocks is not None and self._blocks.unreadable:
            meta[UNREADABLE_ARTIFACTS_KEY] = list(self._blocks.unreadable)
        if self._reasoning:
            meta["reasoning"] = "".join(self._reasoning)
        structured = None
        if self.response_format is not None:
            structured, problem = parse_structured(self.full_text, self.response_format)
            if problem is not None:
                meta["structured_error"] = problem
        chunks.append(
            AgentStream(
                content="",
                delta="",
                done=True,
                session_id=self.session_id,
                chunk_index=self._next_index(),
                metadata=meta,
                structured_data=structured,
                artifact_files=list(artifacts),
            )
        )
        return chunks

    def _chunk(self, visible: str) -> AgentStream | None:
        if not visible:
            return None
        if self._keep:
            self._parts.append(visible)
        return AgentStream(
            content=visible,
            delta=visible,
            session_id=self.session_id,
            chunk_index=self._next_index(),
        )

    def _next_index(self) -> int:
        index = self._index
        self._index += 1
        return index
