"""A local server speaking OpenAI's streamed chat completions, scriptable per test.

``POST /v1/chat/completions`` with ``stream: true`` answers SSE ``data: {json}`` chunks
(``choices[0].delta.content``) and ``data: [DONE]``. Being stateless like the real API,
its default reply is computed from the request's ``messages``: it echoes the last user
message (its text parts, ``[image]`` per image part), and "what did I say?" lists the
earlier user messages it was sent — which is how
a test sees that the client kept the session's history. Scripts (:class:`OpenAIScript`)
set tokens, timing, an error chunk mid-stream, a missing ``[DONE]``, an HTTP error status
with ``{"error": {"message": ...}}``, and byte-level splitting, as for the Lyzr server.

What the real API streams, and each source:

- the first chunk's delta is ``{"role": "assistant", "content": ""}`` and the last one
  carries ``finish_reason``: ``"stop"``, ``"length"`` when ``max_tokens`` was reached,
  ``"content_filter"`` when the provider's filter cut the text (OpenAI API reference,
  "The chat completion chunk object", ``choices[].finish_reason``);
- with ``stream_options: {"include_usage": true}`` one more chunk before ``[DONE]`` has
  ``choices: []`` and the ``usage`` (same reference, ``choices``: "Can also be empty for the
  last chunk if you set stream_options");
- the body is a server-sent-event stream (WHATWG HTML "Server-sent events", §9.2.6
  "Interpreting an event stream"): lines may end in ``\r\n`` or ``\r``; ``:`` lines are
  comments (used as keep-alives by proxies and routers while the model works); an event's
  ``data:`` may span several lines, joined with ``\n``, and ends at a blank line. openai-python's
  ``SSEDecoder`` (``src/openai/_streaming.py``) decodes exactly that, and raises only for an
  ``error`` that is set (``if not error: return``). :attr:`OpenAIScript.framing` and
  :attr:`OpenAIScript.comments` produce these variants;
- an error status has the body ``{"error": {"message", "type", "param", "code"}}``; a 429
  is either a rate limit (``code`` ``rate_limit_exceeded``, wait and retry: openai-python's
  ``_should_retry`` retries every 429, after ``retry-after-ms`` / ``retry-after``,
  ``src/openai/_base_client.py``) or an exhausted quota (``insufficient_quota``: "You
  exceeded your current quota, please check your plan and billing details", OpenAI's
  "Error codes" guide). :attr:`OpenAIScript.error_code` and ``error_headers`` set them;
- an error mid-stream is a chunk whose ``error`` is set (openai-python
  ``src/openai/_streaming.py``: ``if is_mapping(data) and data.get("error")``), except on
  llama.cpp's server, which writes it as an SSE field of its own, ``error: {"code",
  "message", "type"}``, and then ``data: [DONE]`` (ggml-org/llama.cpp
  ``tools/server/server.cpp`` ``handle_completions_impl``: ``server_sent_event(sink,
  "error", error_data)``, then ``ev_done``; seen in ggml-org/llama.cpp#14566, a prompt
  over the context size, which #16486 later answered with a 400 before the stream).
  :attr:`OpenAIScript.error_field` sends it so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

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
    error_field: bool = False  # the error as llama.cpp's ``error:`` line, then [DONE]
    done: bool = True
    status: int = 200
    error: str = "something went wrong"
    error_code: str | None = None  # e.g. "rate_limit_exceeded", "insufficient_quota"
    error_headers: dict[str, str] = field(default_factory=dict)  # e.g. {"retry-after-ms": "20"}
    chunk_size: int | None = None
    piece_delay: float = 0.001
    # The last chunk's finish_reason: "length", "content_filter"...; None: no such chunk.
    finish: str | None = "stop"
    # How lines end ("cr": a bare \r, as SSE allows); multiline: data over several lines.
    framing: Literal["lf", "crlf", "cr", "multiline"] = "lf"
    comments: bool = False  # a ": keep-alive" comment before every event
    bom: bool = False  # open the body with a UTF-8 byte order mark (SSE allows one)
    role_chunk: bool = True  # False: no role-only chunk first, the first one carries text


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
            return _error(
                script.status, script.error, code=script.error_code, headers=script.error_headers
            )
        model = body.get("model", "test-model") if isinstance(body, dict) else "test-model"
        tokens = script.tokens if script.tokens is not None else _reply(body)
        if script.error_after is not None:
            tokens = tokens[: script.error_after]
        chunks = [_chunk(model, {"reasoning_content": r}) for r in script.reasoning]
        chunks += [_chunk(model, {"content": token}) for token in tokens]
        if script.error_after is not None:
            if not script.error_field:  # else written below, as llama.cpp's own field
                chunks.append({"error": {"message": script.error_message}})
        elif script.finish is not None:
            chunks.append(_chunk(model, {}, finish=script.finish))
            options = body.get("stream_options") if isinstance(body, dict) else None
            if isinstance(options, dict) and options.get("include_usage"):
                chunks.append(_usage(model, len(tokens)))
        events = [_sse(chunk, script) for chunk in chunks]
        if script.error_after is not None and script.error_field:
            error = {"code": 500, "message": script.error_message, "type": "server_error"}
            events.append(f"error: {json.dumps(error)}\n\n".encode())
            events.append(_sse_data("[DONE]", script))
        elif script.error_after is None and script.done:
            events.append(_sse_data("[DONE]", script))
        # The role chunk comes with the first token (it is not progress of its own).
        if script.role_chunk:
            role = _chunk(model, {"role": "assistant", "content": ""})
            events[0] = _sse(role, script) + events[0]
        if script.bom:
            events[0] = b"\xef\xbb\xbf" + events[0]
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


def _sse(data: dict[str, Any], script: OpenAIScript) -> bytes:
    if script.framing == "multiline":  # pretty-printed: one data: line per JSON line
        return _sse_data(json.dumps(data, ensure_ascii=False, indent=1), script)
    return _sse_data(json.dumps(data, ensure_ascii=False), script)


def _sse_data(value: str, script: OpenAIScript) -> bytes:
    """One event: a ``data:`` line per line of ``value``, then the blank line."""
    lines = [f"data: {line}" for line in value.split("\n")]
    if script.comments:
        lines.insert(0, ": keep-alive")
    end = {"crlf": "\r\n", "cr": "\r"}.get(script.framing, "\n")
    return (end.join(lines) + end + end).encode()


def _chunk(model: str, delta: dict[str, str], *, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _usage(model: str, tokens: int) -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "model": model,
        "choices": [],
        "usage": {"prompt_tokens": 1, "completion_tokens": tokens, "total_tokens": tokens + 1},
    }


def _error(
    status: int, message: str, *, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    error = {"message": message, "type": code or "test_error", "param": None, "code": code}
    return web.json_response({"error": error}, status=status, headers=headers)
