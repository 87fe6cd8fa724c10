"""OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp, LM Studio...).

The server is stateless, so the session's history comes from a :class:`HistoryStore`
(Redis in production) and the finished exchange is saved back before the final chunk.
Timeouts, error mapping and the retry-before-output rule are the Lyzr backend's.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any, Self

import httpx
from pydantic import BaseModel

from core.agents.base import AgentRequest
from core.agents.context_wire import (
    openai_context_messages,
    openai_user_content,
    remembered,
)
from core.agents.history import HistoryStore, MemoryHistory, Message
from core.agents.openai_wire import Delta, Finished, parse_event, parse_lines
from core.agents.reference import ReferenceCalls
from core.agents.reply import ReplyBuilder
from core.agents.retry import retry_before_output
from core.agents.sse import EventDecoder, SseEvent
from core.agents.structured import schema_instruction
from core.agents.text import clean_message
from core.agents.transport import StreamTimeouts, agent_http_client, open_stream, read_lines
from core.config import Settings, secret_value
from core.context.models import FileKind, TurnContext
from core.errors import AgentError, AgentProtocolError, SessionStoreError
from core.models import FINISH_REASON_KEY, AgentStream

__all__ = ["OpenAIAgent"]

log = logging.getLogger(__name__)

RATE_LIMIT_WAIT = 20.0
"""Longest rate-limit wait (the server's ``retry-after``) worth a retry: a 429 never ran the
model, and openai-python retries every one; a longer wait ends the reply with its notice."""


class OpenAIAgent(ReferenceCalls):
    """Streams ``POST {base_url}/chat/completions`` with the session's history.

    A turn's context (:mod:`core.context`) comes as chat messages before the user's, its
    images as image parts (a vision model is needed for them); the history keeps the turn
    as text (:func:`~core.agents.context_wire.remembered`), so later turns still know it.
    """

    file_kinds: frozenset[FileKind] = frozenset({"text", "image"})

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None = None,
        history: HistoryStore | None = None,
        http: httpx.AsyncClient | None = None,
        timeouts: StreamTimeouts | None = None,
        retries: int = 2,
        backoff: float = 0.25,
        system_prompt: str | None = None,
        max_connections: int = 500,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.history: HistoryStore = history if history is not None else MemoryHistory()
        self.timeouts = timeouts or StreamTimeouts()
        self.retries = retries
        self.backoff = backoff
        self.system_prompt = system_prompt
        self._headers = {"accept": "text/event-stream"}
        if api_key:
            self._headers["authorization"] = f"Bearer {api_key}"
        self._http = http or agent_http_client(max_connections)
        self._owns_http = http is None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        history: HistoryStore | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> Self:
        return cls(
            base_url=settings.openai_base_url,
            model=settings.openai_model,
            api_key=secret_value(settings.openai_api_key),
            history=history or MemoryHistory(settings.openai_history_messages),
            http=http,
            timeouts=StreamTimeouts.from_settings(settings),
            retries=settings.agent_retries,
            max_connections=settings.agent_max_connections,
        )

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        text = clean_message(request.message)
        past = await self.history.load(request.session_id)
        body = self._body(past, text, request.user_id, request.response_format, request.context)
        reply = ReplyBuilder(
            request.session_id, response_format=request.response_format, keep_text=True
        )
        finish_reason: str | None = None
        deltas = retry_before_output(
            lambda: self._deltas(body), retries=self.retries, backoff=self.backoff,
            rate_limit_wait=RATE_LIMIT_WAIT,
        )  # fmt: skip
        try:
            async for delta in deltas:
                reply.reasoning(delta.reasoning)
                finish_reason = delta.finish_reason or finish_reason
                chunk = reply.text(delta.text) if delta.text else None
                if chunk is not None:
                    yield chunk
        finally:
            await deltas.aclose()
        metadata: dict[str, Any] = {"model": self.model}
        if finish_reason:
            metadata[FINISH_REASON_KEY] = finish_reason
        final = reply.finish(metadata=metadata)
        try:
            await self.history.append(
                request.session_id, remembered(text, request.context), reply.full_text
            )
        except SessionStoreError as exc:
            # The reply itself is complete; losing the memory of it is worth a note, not
            # a failed turn.
            log.warning("chat history not saved for %s: %s", request.session_id, exc)
            final[-1].metadata["history_error"] = str(exc)
        for chunk in final:
            yield chunk

    def _body(
        self,
        past: list[Message],
        text: str,
        user_id: str,
        response_format: type[BaseModel] | None,
        context: TurnContext | None = None,
    ) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        if response_format is not None:
            messages.append({"role": "system", "content": schema_instruction(response_format)})
        messages += past
        messages += openai_context_messages(context)
        messages.append({"role": "user", "content": openai_user_content(text, context)})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "user": user_id,
        }
        if response_format is not None:
            body["response_format"] = {"type": "json_object"}
        return body

    async def _deltas(self, body: dict[str, Any]) -> AsyncGenerator[Delta, None]:
        """The deltas of one attempt, ending normally at ``[DONE]``, or at the end of the
        body once a chunk said why the model finished (its ``finish_reason``).

        Some servers send no ``[DONE]`` (llama.cpp's chat completions before
        ggml-org/llama.cpp#9459, TGI before huggingface/text-generation-inference#2221);
        openai-python never needs it. A body that ends before any ``finish_reason`` is cut
        off, and an error.
        """
        request = self._http.build_request(
            "POST",
            f"{self.base_url}/chat/completions",
            json=body,
            headers=self._headers,
            timeout=self.timeouts.for_httpx(),
        )
        events = EventDecoder()
        finished = False  # a chunk carried a finish_reason
        async with open_stream(self._http, request, self.timeouts) as opened:
            async for lines in read_lines(opened, self.timeouts):
                # The text deltas of one read go on as one (a held read brings several: see
                # core/agents/batching.py); whatever came before an end or error goes first.
                deltas, end = parse_lines(lines, events)
                for delta in deltas:
                    finished = finished or bool(delta.finish_reason)
                    yield delta
                if isinstance(end, AgentError):
                    raise end
                if end is not None:
                    return
            for item in _items(events.flush()):  # a last event without its blank line
                if isinstance(item, Finished):
                    return
                finished = finished or bool(item.finish_reason)
                yield item
        if not finished:
            raise AgentProtocolError("the stream ended without [DONE]")

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()


def _items(event: SseEvent | None) -> list[Delta | Finished]:
    """The deltas worth yielding of ``event`` (and its end marker)."""
    if event is None:
        return []
    items = parse_event(event)
    if len(items) == 1:  # one chunk per event: no list to filter
        item = items[0]
        if isinstance(item, Finished) or item.text or item.reasoning or item.finish_reason:
            return items
        return []
    return [
        item
        for item in items
        if isinstance(item, Finished) or item.text or item.reasoning or item.finish_reason
    ]
