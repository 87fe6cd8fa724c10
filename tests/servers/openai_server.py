"""A local server speaking OpenAI's streamed chat completions, scriptable per test.

``POST /v1/chat/completions`` with ``stream: true`` answers SSE ``data: {json}`` chunks
(``choices[0].delta.content``) and ``data: [DONE]``. Being stateless like the real API,
its default reply is computed from the request's ``messages``: it echoes the last user
message (its text parts, ``[image]`` per image part), and "what did I say?" lists the
earlier user messages it was sent — which is how
a test sees that the client kept the session's history. Scripts (:class:`OpenAIScript`)
set tokens, timing, an error chunk mid-stream, a missing ``[DONE]``, an HTTP error status
with ``{"error": {"message": ...}}``, and byte-level splitting, as for the Lyzr server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.servers.lyzr_server import Recorded, StreamingServer, Write, split_words

__all__ = ["OpenAIScript", "OpenAIServer"]


@dataclass
class OpenAIScript:
    tokens: list[str] | None = None  # None → the default echo/history reply
    reasoning: list[str] = field(default_factory=list)  # sent as reasoning_content first
    delay: float = 0.0
    first_delay: float = 0.0
    stall_after: int | None = None
    stall: float = 0.0
    error_after: int | None = None  # an {"error": ...} chunk after this many tokens
    error_message: str = "model exploded"
    done: bool = True
    status: int = 200
    error: str = "something went wrong"
    chunk_size: int | None = None
    piece_delay: float = 0.001


class OpenAIServer(StreamingServer[OpenAIScript]):
    def __init__(self, *, api_key: str = "test-key") -> None:
        super().__init__(OpenAIScript(), api_key=api_key)
        self.app.router.add_post("/v1/chat/completions", self._completions)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def completion_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await self.record(request)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "Incorrect API key provided")
        script = self._next_script()
        if script.status >= 400:
            return _error(script.status, script.error)
        model = body.get("model", "test-model") if isinstance(body, dict) else "test-model"
        tokens = script.tokens if script.tokens is not None else _reply(body)
        if script.error_after is not None:
            tokens = tokens[: script.error_after]
        events = [_chunk(model, {"reasoning_content": r}) for r in script.reasoning]
        events += [_chunk(model, {"content": token}) for token in tokens]
        if script.error_after is not None:
            events.append(_sse({"error": {"message": script.error_message}}))
        else:
            events.append(_chunk(model, {}, finish="stop"))
            events.append(b"data: [DONE]\n\n" if script.done else b"")
        writes = []
        for index, data in enumerate(events):
            delay = script.first_delay if index == 0 else script.delay
            if script.stall_after is not None and index == script.stall_after:
                delay += script.stall
            writes.append(Write(data, delay=delay))
        return await self.stream_writes(
            request, writes, chunk_size=script.chunk_size, piece_delay=script.piece_delay
        )


def _reply(body: Any) -> list[str]:
    messages = body.get("messages", []) if isinstance(body, dict) else []
    said = [_text(m.get("content", "")) for m in messages if m.get("role") == "user"]
    last = said[-1] if said else ""
    if "what did i say" in last.lower():
        earlier = "; ".join(said[:-1]) or "nothing yet"
        return split_words(f"You said: {earlier}.")
    return split_words(f"You said: {last}")


def _text(content: Any) -> str:
    """A message's text: a string, or the ``text`` parts of a content-part list (OpenAI's
    chat format: ``[{"type": "text", "text": ...}, {"type": "image_url", ...}]``), with a
    mark per image so a test sees that images arrived."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content if isinstance(content, list) else []:
        if isinstance(part, dict) and part.get("type") == "text":
            parts.append(str(part.get("text", "")))
        elif isinstance(part, dict) and part.get("type") == "image_url":
            parts.append("[image]")
    return " ".join(parts)


def _sse(data: dict[str, Any]) -> bytes:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _chunk(model: str, delta: dict[str, str], *, finish: str | None = None) -> bytes:
    return _sse(
        {
            "id": "chatcmpl-test",
            "object": "chat.completion.chunk",
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
    )


def _error(status: int, message: str) -> web.Response:
    return web.json_response(
        {"error": {"message": message, "type": "test_error", "code": status}}, status=status
    )
