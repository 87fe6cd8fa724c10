"""A local server speaking the Lyzr agent API's wire format, scriptable per test.

Start it on a free loopback port with ``async with LyzrServer() as server:`` and point an
agent at ``server.base_url``. By default it is a tiny echo agent with memory per
``session_id`` ("what did I say?" lists the session's earlier messages). A test changes
what the next requests get with :meth:`LyzrServer.enqueue` (one :class:`LyzrScript` per
request, in order) or ``server.default``: the tokens, their timing, escapes, an ``[ERROR]``
after N tokens, a missing ``[DONE]``, a stall, a hold until the test releases it, an HTTP
error status with ``{"detail": ...}``, and the body cut into arbitrary byte pieces (even
inside a UTF-8 character).

Behaviours of the real service it models, with their sources:

- JSON frames. Besides plain-text tokens, a ``data:`` line can be a JSON object: lyzr-adk's
  ``lyzr/inference.py`` (``InferenceModule.stream``) ``json.loads`` every data line and
  reads ``content`` / ``delta`` / ``metadata``; tool and thinking events arrive the same
  way (``{"type": "local_tool_call", ...}``, see ``lyzr/models.py``'s local-tool loop). A
  script token that is a ``dict`` is sent as such a frame.
- One token per event, one ``data:`` line each: Lyzr escapes the newlines in a token
  (``\\n``), and every Lyzr client reads the body line by line, appending each ``data: ``
  line's value to the reply as it is, with no newline between two lines of one event
  (lyzr-adk 0.1.12 ``lyzr/inference.py`` ``InferenceModule.stream``: ``iter_lines()``,
  ``"".join(full_content)``; lyzr-kit 0.2.2 ``lyzr_kit/commands/agent_chat.py``:
  ``buffer += decoded_data``; the studio's ``src/pages/studio/components/chatbox.tsx``,
  ayush-lyzr/agent-studio-ui: ``chunk.split("\\n")``, ``buffer += decodedData``). A script
  token that is a ``list`` is sent as one event of several ``data:`` lines, to pin that.
- Errors mid-stream: ``data: [ERROR] <message>`` is what Lyzr's clients recognise (the
  lyzr-kit and studio sources above: ``data.startswith("[ERROR]")``; no client reads an
  ``event:`` field). An error as JSON is modelled too, since a client meeting one must
  not show it raw: ``error_body`` sends the error as ``event: error`` with that JSON
  ``data:`` (the SSE spec's event name, WHATWG HTML "Interpreting an event stream"), in
  the ``{"detail": ...}`` shape of Lyzr's HTTP errors (lyzr-adk ``lyzr/http.py``
  ``_handle_error`` reads ``detail``). Whether Lyzr ever sends one is not documented.
- Escapes: Lyzr escapes newlines, tabs, quotes and backslashes with a backslash and ``<``,
  ``>``, ``&`` as HTML entities (DESIGN §2, from Lyzr's studio clients); its clients also
  decode ``\\&`` (``LyzrScript.amp_escape``).
- Slow first token: Lyzr runs tools before the first token, so the body can stay silent for
  minutes (lyzr-adk waits 300 s in ``studio.py``); ``first_delay`` models it, and tool
  frames can be sent meanwhile.
- Assets: ``POST /v3/assets/upload`` takes users' files (multipart ``files``) and answers
  their ids (``refuse_assets`` makes it report a file as failed); the inference body then
  names them in ``assets``.
- Artifacts: ``GET /v3/artifacts/?page=&limit=&user_id=&session_id=`` is paged, 1-based
  pages, 10 per page unless ``limit`` says otherwise (Lyzr's API clients: an
  ``ArtifactsClient`` sends ``page=1&limit=10`` and accepts ``{"artifacts", "total",
  "page", "limit"}`` or a bare list; the studio UI reads ``data.artifacts``). The shape is
  chosen per script (``artifacts_shape``).
- Artifacts in the text: the studio's ``chatbox.tsx`` (above) also pulls an
  ``<artifacts>[{"file_url", "artifact_id", "name", "format_type"}]</artifacts>`` block out
  of the streamed text (``separateThinkingContent``: a non-greedy regex for the first
  block in the decoded text so far, ``JSON.parse`` of its trimmed content, an array or one
  object) and shows the files as attachments. ``text_artifacts`` sends such a block among
  the tokens, escaped like any token (so ``<`` goes as ``&lt;``), cut into tokens at
  ``text_artifacts_cuts``; where in the text Lyzr puts it is not documented (the studio
  looks anywhere), so ``text_artifacts_at`` chooses. :func:`artifacts_block` builds one.

It records every request (:class:`Recorded`) and every stream's fate (:class:`StreamRecord`:
finished, or the client went away). :class:`StreamingServer` is the shared base of this and
the OpenAI-format server.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from aiohttp import web

from core.lifecycle import Lifecycle

__all__ = [
    "Asset",
    "LyzrScript",
    "LyzrServer",
    "Recorded",
    "StreamRecord",
    "StreamingServer",
    "Write",
    "artifacts_block",
    "lyzr_escape",
    "split_words",
]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class StreamRecord:
    """What happened to one streamed response."""

    writes: int = 0  # pieces written so far
    finished: bool = False  # the whole scripted body was written
    disconnected: bool = False  # the client went away before the end


@dataclass
class Write:
    """One step of a scripted body: wait ``delay`` seconds, then write ``data``."""

    data: bytes
    delay: float = 0.0
    hold: asyncio.Event | None = None  # then, before writing, wait until the test sets it


_WORDS = re.compile(r"\s*\S+")


def split_words(text: str) -> list[str]:
    """Tokens the way models send them: each word with its leading whitespace."""
    tokens = _WORDS.findall(text)
    tail = text[sum(map(len, tokens)) :]
    return [*tokens, tail] if tail else tokens


def lyzr_escape(text: str, *, amp: str = "&amp;") -> str:
    """Escape a token the way the client must undo it (backslashes first, then entities).

    ``amp`` is how ``&`` goes on the wire: ``&amp;`` or ``\\&`` (both are decoded by Lyzr's
    clients)."""
    for plain, escaped in (
        ("\\", "\\\\"),
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ('"', '\\"'),
        ("&", amp),
        ("<", "&lt;"),
        (">", "&gt;"),
    ):
        text = text.replace(plain, escaped)
    return text


def artifacts_block(entries: Any) -> str:
    """The ``<artifacts>`` block of the text (module docstring): ``entries`` as JSON, or a
    ``str`` as the block's raw content (a block that is not JSON)."""
    body = entries if isinstance(entries, str) else json.dumps(entries)
    return f"<artifacts>{body}</artifacts>"


S = TypeVar("S")


class StreamingServer(Lifecycle, Generic[S]):
    """An aiohttp app on 127.0.0.1:<free port> that records requests and streams scripts:
    the queued ones in order, then ``default``."""

    def __init__(self, default: S, *, api_key: str) -> None:
        self.app = web.Application()
        self.api_key = api_key
        self.default = default
        self.scripts: deque[S] = deque()
        self.requests: list[Recorded] = []
        self.streams: list[StreamRecord] = []
        self.disconnected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def enqueue(self, *scripts: S) -> None:
        """What the next requests are answered with, in order."""
        self.scripts.extend(scripts)

    def _next_script(self) -> S:
        return self.scripts.popleft() if self.scripts else self.default

    async def start(self) -> None:
        # handler_cancellation: a client that goes away cancels the handler even while it
        # sleeps, so a stall still records the disconnect.
        self._runner = web.AppRunner(self.app, handler_cancellation=True)
        await self._runner.setup()
        # The accept queue of a production server (uvicorn's --backlog defaults to 2048, see
        # uvicorn's docs/settings.md), not aiohttp's 128: with 150 streams opened at once
        # by tests/agents/test_pool.py and this process's loop busy, the kernel dropped the
        # SYNs past 128, and those connects (retried after 1 s, then 3 s) missed their 2 s
        # connect timeout, which no real agent API would have caused.
        await web.TCPSite(self._runner, "127.0.0.1", 0, backlog=2048).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def record(self, request: web.Request) -> Any:
        body: Any = None
        if request.can_read_body:
            with contextlib.suppress(ValueError):
                body = await request.json()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
            )
        )
        return body

    async def stream_writes(
        self,
        request: web.Request,
        writes: list[Write],
        *,
        chunk_size: int | None = None,
        piece_delay: float = 0.001,
    ) -> web.StreamResponse:
        """Send ``writes`` as an SSE body; ``chunk_size`` re-cuts the bytes anywhere."""
        record = StreamRecord()
        self.streams.append(record)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        try:
            await response.prepare(request)
            for write in _recut(writes, chunk_size, piece_delay):
                if write.delay:
                    await asyncio.sleep(write.delay)
                if write.hold is not None:
                    await write.hold.wait()
                await response.write(write.data)
                record.writes += 1
            await response.write_eof()
            record.finished = True
        except (ConnectionError, asyncio.CancelledError):
            record.disconnected = True
            self.disconnected.set()
            raise
        return response


def _recut(writes: list[Write], size: int | None, piece_delay: float) -> list[Write]:
    """Cut every run of undelayed writes into ``size``-byte pieces, ``piece_delay`` apart.

    The delay between pieces makes each one arrive in its own network read, which is what
    the client's line and UTF-8 reassembly must cope with.
    """
    if size is None:
        return writes
    out: list[Write] = []
    index = 0
    while index < len(writes):
        delay = writes[index].delay
        hold = writes[index].hold
        run = [writes[index].data]
        index += 1
        while index < len(writes) and writes[index].delay == 0 and writes[index].hold is None:
            run.append(writes[index].data)
            index += 1
        data = b"".join(run)
        for start in range(0, len(data), size):
            first = start == 0
            out.append(
                Write(
                    data[start : start + size],
                    delay if first else piece_delay,
                    hold if first else None,
                )
            )
    return out


@dataclass
class LyzrScript:
    """What one request gets. ``tokens=None`` means the default echo/memory reply.

    A token that is a ``dict`` goes out as a JSON frame (``data: {...}``), unescaped; one
    that is a ``list`` as one event of several ``data:`` lines, each escaped.
    """

    tokens: Sequence[str | dict[str, Any] | list[str]] | None = None
    escape: bool = True  # escape tokens like Lyzr does; False sends them verbatim
    amp_escape: str = "&amp;"  # how ``&`` is escaped: ``&amp;`` or ``\\&``
    delay: float = 0.0  # before each token
    header_delay: float = 0.0  # before even the response headers
    first_delay: float = 0.0  # after the headers, before the first token
    stall_after: int | None = None  # after this many tokens, sleep ``stall`` seconds
    stall: float = 0.0
    hold_after: int | None = None  # after this many tokens, wait until ``hold`` is set
    hold: asyncio.Event = field(default_factory=asyncio.Event)
    # More holds: after ``n`` tokens, wait until ``holds[n]`` is set (a reply the test lets
    # grow one step at a time, each once the bot has shown the last).
    holds: Mapping[int, asyncio.Event] = field(default_factory=dict)
    error_after: int | None = None  # send ``[ERROR] error_message`` after this many tokens
    error_message: str = "model exploded"
    error_body: Any = None  # set: the error goes as ``event: error`` with this JSON data
    done: bool = True  # end with [DONE]
    status: int = 200  # an error status answers {"detail": detail} instead of a stream
    detail: Any = "something went wrong"
    chunk_size: int | None = None
    piece_delay: float = 0.001
    artifacts: Any = field(default_factory=list)  # a list is paged; anything else is sent as is
    artifacts_shape: Literal["list", "data", "page"] = "list"  # how a page is wrapped
    artifacts_status: int = 200
    together: int = 0  # hold the first token until this many streams are open at once
    line_end: str = "\n"  # how lines end: "\n", "\r\n" or "\r" (all three are SSE)
    bom: bool = False  # open the body with a UTF-8 byte order mark (SSE allows one)
    # An <artifacts> block in the text (module docstring): its entries (or raw content),
    # the token it goes before (None: after the last) and where its text is cut into tokens.
    text_artifacts: Any = None
    text_artifacts_at: int | None = None
    text_artifacts_cuts: Sequence[int] = ()


@dataclass(frozen=True)
class Asset:
    """A file uploaded to ``/v3/assets/upload``."""

    file_name: str
    content_type: str
    data: bytes


class LyzrServer(StreamingServer[LyzrScript]):
    """``/v3/inference/stream/``, ``/v3/inference/chat/``, ``/v3/artifacts/``, ``/files/``."""

    def __init__(self, *, api_key: str = "test-key") -> None:
        super().__init__(LyzrScript(), api_key=api_key)
        self.memory: dict[str, list[str]] = {}
        self.files: dict[str, bytes] = {}
        self.artifact_script: LyzrScript | None = None  # script of the last stream
        self.open_streams = 0  # streams whose handler is running now
        self.most_open = 0  # the most that ever ran at once
        self._opened = asyncio.Condition()
        self.app.router.add_post("/v3/inference/stream/", self._stream)
        self.app.router.add_post("/v3/inference/chat/", self._chat)
        self.app.router.add_get("/v3/artifacts/", self._artifacts)
        self.app.router.add_get("/files/{name}", self._file)
        self.app.router.add_post("/v3/assets/upload", self._upload_assets)
        self.assets: dict[str, Asset] = {}  # asset id -> what was uploaded
        self.refuse_assets: set[str] = set()  # file names the upload reports as failed
        self._holds: list[asyncio.Event] = []  # of the scripts that hold, released at stop

    async def stop(self) -> None:
        # A stream still held when the test ends (it failed, or never stopped the reply)
        # ends now instead of keeping the shutdown waiting for its client.
        for hold in self._holds:
            hold.set()
        await super().stop()

    @property
    def base_url(self) -> str:
        return self.url

    def add_file(self, name: str, data: bytes) -> str:
        """Serve ``data`` and return its URL (for artifact downloads)."""
        self.files[name] = data
        return f"{self.url}/files/{name}"

    async def _upload_assets(self, request: web.Request) -> web.Response:
        """``POST /v3/assets/upload``: multipart, one ``files`` part per file; answers
        ``{"results": [{"success", "asset_id", "file_name", ...}], "total_files",
        "successful_uploads", "failed_uploads"}`` (see :mod:`core.agents.lyzr_assets` for
        the sources)."""
        form = await request.post()
        uploads = [v for k, v in form.items() if k == "files" and isinstance(v, web.FileField)]
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query),
                     {k.lower(): v for k, v in request.headers.items()},
                     {"files": [u.filename for u in uploads]})
        )  # fmt: skip
        if (denied := self._denied(request)) is not None:
            return denied
        if not uploads:
            return web.json_response({"detail": "No files provided"}, status=422)
        results = []
        for upload in uploads:
            if upload.filename in self.refuse_assets:
                results.append({"success": False, "file_name": upload.filename,
                                "error": "unsupported file"})  # fmt: skip
                continue
            asset_id = f"asset-{len(self.assets) + 1}"
            data = upload.file.read()
            self.assets[asset_id] = Asset(upload.filename, upload.content_type, data)
            results.append({"success": True, "asset_id": asset_id, "file_name": upload.filename,
                            "type": upload.content_type, "file_size": len(data)})  # fmt: skip
        ok = sum(1 for r in results if r["success"])
        return web.json_response({"results": results, "total_files": len(results),
                                  "successful_uploads": ok,
                                  "failed_uploads": len(results) - ok})  # fmt: skip

    def stream_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path == "/v3/inference/stream/"]

    async def _take(self, request: web.Request) -> tuple[Any, LyzrScript] | web.Response:
        """Record an inference request; the refusal of a wrong key, or the request's body
        and the script that answers it."""
        body = await self.record(request)
        if (denied := self._denied(request)) is not None:
            return denied
        return body, self._next_script()

    def _denied(self, request: web.Request) -> web.Response | None:
        if request.headers.get("x-api-key") != self.api_key:
            return web.json_response({"detail": "Invalid API key"}, status=401)
        return None

    def reply_tokens(
        self, body: Any, script: LyzrScript
    ) -> Sequence[str | dict[str, Any] | list[str]]:
        tokens = self._reply_tokens(body, script)
        if script.text_artifacts is None:
            return tokens
        block = artifacts_block(script.text_artifacts)
        edges = [0, *sorted(script.text_artifacts_cuts), len(block)]
        pieces = [block[a:b] for a, b in itertools.pairwise(edges) if b > a]
        at = len(tokens) if script.text_artifacts_at is None else script.text_artifacts_at
        return [*tokens[:at], *pieces, *tokens[at:]]

    def _reply_tokens(
        self, body: Any, script: LyzrScript
    ) -> Sequence[str | dict[str, Any] | list[str]]:
        if script.tokens is not None:
            return script.tokens
        session = str(body.get("session_id", "")) if isinstance(body, dict) else ""
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        earlier = self.memory.setdefault(session, [])
        if "what did i say" in message.lower():
            text = "You said: " + ("; ".join(earlier) if earlier else "nothing yet") + "."
        else:
            text = f"You said: {message}"
        earlier.append(message)
        return split_words(text)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        taken = await self._take(request)
        if isinstance(taken, web.Response):
            return taken
        body, script = taken
        self.artifact_script = script
        if script.hold_after is not None:
            self._holds.append(script.hold)
        self._holds.extend(script.holds.values())
        if script.header_delay:
            await asyncio.sleep(script.header_delay)
        if script.status >= 400:
            return web.json_response({"detail": script.detail}, status=script.status)
        tokens = self.reply_tokens(body, script)
        if script.error_after is not None:
            tokens = tokens[: script.error_after]
        end = script.line_end * 2
        events = [f"{_event(token, script)}{end}".encode() for token in tokens]
        if script.error_after is not None and script.error_body is not None:
            error = json.dumps(script.error_body)
            events.append(f"event: error{script.line_end}data: {error}{end}".encode())
        elif script.error_after is not None:
            events.append(f"data: [ERROR] {script.error_message}{end}".encode())
        elif script.done:
            events.append(f"data: [DONE]{end}".encode())
        else:
            events.append(b"")  # end the body without [DONE], after any stall
        if script.bom:
            events[0] = b"\xef\xbb\xbf" + events[0]
        writes = [
            Write(data, _delay(script, index), _hold(script, index))
            for index, data in enumerate(events)
        ]
        async with self._open_stream(script.together):
            return await self.stream_writes(
                request, writes, chunk_size=script.chunk_size, piece_delay=script.piece_delay
            )

    @contextlib.asynccontextmanager
    async def _open_stream(self, together: int) -> Any:
        """Count the stream as open; with ``together``, wait until that many are."""
        async with self._opened:
            self.open_streams += 1
            self.most_open = max(self.most_open, self.open_streams)
            self._opened.notify_all()
            await self._opened.wait_for(lambda: self.most_open >= together)
        try:
            yield
        finally:
            self.open_streams -= 1

    async def _chat(self, request: web.Request) -> web.Response:
        taken = await self._take(request)
        if isinstance(taken, web.Response):
            return taken
        body, script = taken
        if script.status >= 400:
            return web.json_response({"detail": script.detail}, status=script.status)
        text = "".join(t for t in self.reply_tokens(body, script) if isinstance(t, str))
        artifacts = script.artifacts if isinstance(script.artifacts, list) else []
        return web.json_response(
            {"response": text, "module_outputs": {"artifact_files": artifacts}}
        )

    async def _artifacts(self, request: web.Request) -> web.Response:
        await self.record(request)
        if (denied := self._denied(request)) is not None:
            return denied
        script = self.artifact_script or self.default
        if script.artifacts_status >= 400:
            return web.json_response({"detail": "artifacts failed"}, status=script.artifacts_status)
        if not isinstance(script.artifacts, list):
            return web.json_response(script.artifacts)
        return web.json_response(_artifact_page(script, request.query))

    async def _file(self, request: web.Request) -> web.Response:
        await self.record(request)
        data = self.files.get(request.match_info["name"])
        if data is None:
            return web.json_response({"detail": "no such file"}, status=404)
        return web.Response(body=data, content_type="application/octet-stream")


_PAGE_LIMIT = 10  # the page size when the request names none
_MAX_LIMIT = 100


def _event(token: str | dict[str, Any] | list[str], script: LyzrScript) -> str:
    """One event's lines, without the blank line that ends it."""
    if isinstance(token, list):
        return script.line_end.join(f"data: {_wire(part, script)}" for part in token)
    return f"data: {_wire(token, script)}"


def _wire(token: str | dict[str, Any], script: LyzrScript) -> str:
    """One data line's value: a JSON frame, or a token escaped as Lyzr does."""
    if isinstance(token, dict):
        return json.dumps(token)
    return lyzr_escape(token, amp=script.amp_escape) if script.escape else token


def _artifact_page(script: LyzrScript, query: Any) -> Any:
    """One page of the script's artifacts (``page`` counts from 1), in the script's shape."""
    try:
        page = max(1, int(query.get("page", 1)))
        limit = min(_MAX_LIMIT, max(1, int(query.get("limit", _PAGE_LIMIT))))
    except ValueError:
        page, limit = 1, _PAGE_LIMIT
    items = script.artifacts[(page - 1) * limit : page * limit]
    if script.artifacts_shape == "data":
        return {"data": {"artifacts": items}}
    if script.artifacts_shape == "page":
        return {"artifacts": items, "total": len(script.artifacts), "page": page, "limit": limit}
    return items


def _hold(script: LyzrScript, index: int) -> asyncio.Event | None:
    """What event ``index`` waits for, if anything (see ``LyzrScript.holds``)."""
    if index in script.holds:
        return script.holds[index]
    return script.hold if index == script.hold_after else None


def _delay(script: LyzrScript, index: int) -> float:
    """Seconds before event ``index`` (tokens, then the closing line)."""
    delay = script.first_delay if index == 0 else script.delay
    if script.stall_after is not None and index == script.stall_after:
        delay += script.stall
    return delay
