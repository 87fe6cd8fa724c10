"""The Lyzr agent API over httpx (the reference backend; wire format in DESIGN §2).

One reply is one ``POST /v3/inference/stream/``, sent once (see
:func:`~core.agents.transport.is_retryable`). Its SSE tokens become chunks as they arrive;
tool events become progress chunks (``metadata["status"]``), thinking events reasoning;
``[DONE]`` ends it and anything else that ends it is an error. Then the session's new
artifacts are listed, every page, for the final chunk; which ones the session already got
is kept in Redis when the agent has one (:class:`RedisDelivered`), so neither another
replica nor a restart delivers a file twice. Closing the chunk iterator early closes the
HTTP response, so the server sees the client go away.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from typing import Any, Self

import httpx
import redis.asyncio as aioredis

from core.agents.artifacts import (
    DeliveredArtifacts,
    MemoryDelivered,
    RedisDelivered,
    artifact_key,
    listed_limit,
    listed_total,
    merged,
    parse_artifacts,
)
from core.agents.base import AgentRequest
from core.agents.context_wire import context_block
from core.agents.error_words import shown_words
from core.agents.lyzr_assets import upload_assets
from core.agents.lyzr_wire import (
    Done,
    Failed,
    Frames,
    LyzrEvent,
    Reasoning,
    Status,
    Token,
    parse_line,
)
from core.agents.reference import ReferenceCalls
from core.agents.reply import ReplyBuilder
from core.agents.retry import retry_before_output
from core.agents.structured import schema_instruction
from core.agents.text import clean_message
from core.agents.transport import (
    StreamTimeouts,
    agent_http_client,
    open_stream,
    read_lines,
    status_error,
    transport_error,
)
from core.config import DEFAULT_NAMESPACE, Settings
from core.context.models import FILES_NOT_RECEIVED, FileKind
from core.errors import AgentError, AgentProtocolError, AgentServerError, ConfigError
from core.models import ARTIFACTS_ERROR_KEY, AgentStream, Artifact
from core.texts import not_passed_on

__all__ = ["DEFAULT_LYZR_BASE", "LyzrAgent"]

DEFAULT_LYZR_BASE = "https://agent-prod.studio.lyzr.ai"
ARTIFACT_PAGE_SIZE = 50
_MAX_ARTIFACT_PAGES = 40  # 2,000 files: a bound, should a server ignore ``page``

_Event = Token | Status | Reasoning


def _reported(failed: Failed) -> AgentServerError:
    """The error for one the agent reported in its stream: its words are shown to the user
    (unless they are internals: :func:`shown_words`), and logged whole."""
    return AgentServerError(failed.message or "unspecified error", said=shown_words(failed.message))


class LyzrAgent(ReferenceCalls):
    """Streams replies of one Lyzr agent (``agent_id``) over one shared httpx client.

    A turn's context (:mod:`core.context`) is one delimited block before the message, on
    that turn only (Lyzr remembers the session); text files are inlined in it, images and
    documents uploaded as assets (:mod:`core.agents.lyzr_assets`).
    """

    file_kinds: frozenset[FileKind] = frozenset({"text", "image", "document"})

    def __init__(
        self,
        *,
        api_key: str,
        agent_id: str,
        base_url: str = DEFAULT_LYZR_BASE,
        http: httpx.AsyncClient | None = None,
        timeouts: StreamTimeouts | None = None,
        retries: int = 2,
        backoff: float = 0.25,
        fetch_artifacts: bool = True,
        structured_hint: bool = True,
        max_connections: int = 500,
        redis: aioredis.Redis | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        session_ttl: float = 30 * 24 * 3600.0,
    ) -> None:
        self.agent_id = agent_id
        self.base_url = base_url.rstrip("/")
        self.timeouts = timeouts or StreamTimeouts()
        self.retries = retries
        self.backoff = backoff
        self.fetch_artifacts = fetch_artifacts
        self.structured_hint = structured_hint
        self._headers = {"x-api-key": api_key}
        self._http = http or agent_http_client(max_connections)
        self._owns_http = http is None
        self._delivered: DeliveredArtifacts = (
            RedisDelivered(redis, namespace=namespace, ttl=session_ttl)
            if redis is not None
            else MemoryDelivered()
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        http: httpx.AsyncClient | None = None,
        redis: aioredis.Redis | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> Self:
        if not settings.lyzr_api_key:
            raise ConfigError("LYZR_API_KEY", "required for the Lyzr agent")
        if not settings.lyzr_agent_id:
            raise ConfigError("LYZR_AGENT_ID", "required for the Lyzr agent")
        return cls(
            api_key=settings.lyzr_api_key.get_secret_value(),
            agent_id=settings.lyzr_agent_id,
            base_url=settings.lyzr_api_base,
            http=http,
            timeouts=StreamTimeouts.from_settings(settings),
            retries=settings.agent_retries,
            max_connections=settings.agent_max_connections,
            redis=redis,
            namespace=namespace,
            session_ttl=settings.session_ttl,
        )

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        text = clean_message(request.message)
        block = context_block(request.context)
        if block:
            text = f"{block}\n\n{text}"
        if request.response_format is not None and self.structured_hint:
            # Nothing in the Lyzr API carries a schema; asking in the message is what works
            # with an agent that was not configured for JSON output.
            text = f"{text}\n\n{schema_instruction(request.response_format)}"
        payload: dict[str, Any] = {
            "user_id": request.user_id,
            "agent_id": self.agent_id,
            "session_id": request.session_id,
            "message": text,
        }
        not_received: tuple[str, ...] = ()
        if request.context and request.context.files:
            assets = [f for f in request.context.files if f.kind != "text"]
            uploaded = await upload_assets(
                self._http, self.base_url, self._headers, assets, timeout=self.timeouts.idle
            )
            not_received = uploaded.failed
            if uploaded.asset_ids:
                payload["assets"] = list(uploaded.asset_ids)
            if not_received:
                payload["message"] += f"\n\n{not_passed_on(not_received)}"
        # Files can be announced in the text too (an ``<artifacts>`` block, as the studio reads).
        reply = ReplyBuilder(
            request.session_id, response_format=request.response_format, inline_artifacts=True
        )
        events = retry_before_output(
            lambda: self._events(payload), retries=self.retries, backoff=self.backoff
        )
        try:
            async for event in events:
                if isinstance(event, Token):
                    chunk = reply.text(event.text)
                    if chunk is not None:
                        yield chunk
                elif isinstance(event, Status):
                    yield reply.tool(event.name)
                else:
                    reply.reasoning(event.text)
        except AgentError:
            # The text ends here: what a tag's start held back (an ``<artifacts>`` never
            # closed, a possible ``<think``) is the reply's, shown before the notice.
            for chunk in reply.end_text():
                yield chunk
            raise
        finally:
            await events.aclose()
        for chunk in reply.end_text():
            yield chunk
        artifacts, metadata = await self._artifacts(
            request.session_id, request.user_id, reply.announced
        )
        if not_received:
            metadata[FILES_NOT_RECEIVED] = list(not_received)
        for chunk in reply.finish(artifacts=artifacts, metadata=metadata):
            yield chunk

    async def _events(self, payload: dict[str, Any]) -> AsyncGenerator[_Event, None]:
        """The events of one attempt, ending normally only at ``[DONE]``."""
        request = self._http.build_request(
            "POST",
            f"{self.base_url}/v3/inference/stream/",
            json=payload,
            headers={**self._headers, "accept": "text/event-stream"},
            timeout=self.timeouts.for_httpx(),
        )
        frames = Frames()  # event names: an ``error`` event is read whole
        async with open_stream(self._http, request, self.timeouts) as opened:
            async for lines in read_lines(opened, self.timeouts):
                # The tokens of one read go on as one (a held read brings several: see
                # core/agents/batching.py); whatever came before an end or error goes first.
                texts: list[str] = []
                for line in lines:
                    if frames.in_error or not line.startswith("data:"):
                        event: LyzrEvent | None = frames.feed(line)
                    else:
                        event = parse_line(line)
                    if event is None:
                        continue
                    if isinstance(event, Token):
                        texts.append(event.text)
                        continue
                    if texts:
                        yield Token("".join(texts))
                        texts = []
                    if isinstance(event, Done):
                        return
                    if isinstance(event, Failed):
                        raise _reported(event)
                    yield event
                if texts:
                    yield Token(texts[0] if len(texts) == 1 else "".join(texts))
        failed = frames.flush()  # an error event the body ended without its blank line
        if failed is not None:
            raise _reported(failed)
        raise AgentProtocolError("the stream ended without [DONE]")

    async def _artifacts(
        self, session_id: str, user_id: str, announced: list[Artifact]
    ) -> tuple[list[Artifact], dict[str, Any]]:
        """This turn's new files: the session's listed ones and those ``announced`` in the
        text (the same file in both once, as listed: the key a later listing has); a
        listing failure is reported in metadata, never raised."""
        listed: list[Artifact] = []
        metadata: dict[str, Any] = {}
        if self.fetch_artifacts:
            try:
                listed = await self._list_artifacts(session_id, user_id)
            except AgentError as exc:
                metadata[ARTIFACTS_ERROR_KEY] = str(exc)
        files = merged(listed, announced)
        if not files:
            return [], metadata
        return await self._delivered.claim(session_id, files), metadata

    async def _list_artifacts(self, session_id: str, user_id: str) -> list[Artifact]:
        """Every page: until a page shorter than the page size (the ``limit`` asked for, or
        a smaller one the server says it used), the announced total, or a page that brings
        nothing new (a server that ignores ``page`` repeats the first)."""
        found: dict[str, Artifact] = {}
        for page in range(1, _MAX_ARTIFACT_PAGES + 1):
            payload = await self._artifact_page(session_id, user_id, page)
            items = parse_artifacts(payload)
            fresh = {artifact_key(a): a for a in items if artifact_key(a) not in found}
            found.update(fresh)
            total = listed_total(payload)
            if len(items) < listed_limit(payload, ARTIFACT_PAGE_SIZE) or not fresh:
                break
            if total is not None and len(found) >= total:
                break
        return list(found.values())

    async def _artifact_page(self, session_id: str, user_id: str, page: int) -> Any:
        timeout = httpx.Timeout(self.timeouts.idle, connect=self.timeouts.connect)
        params: dict[str, str | int] = {
            "user_id": user_id,
            "session_id": session_id,
            "page": page,
            "limit": ARTIFACT_PAGE_SIZE,
        }
        try:
            # The whole call is bounded too: httpx's timeouts are per operation.
            async with asyncio.timeout(self.timeouts.connect + self.timeouts.idle):
                response = await self._http.get(
                    f"{self.base_url}/v3/artifacts/",
                    params=params,
                    headers=self._headers,
                    timeout=timeout,
                )
        except TimeoutError:
            raise AgentProtocolError("listing artifacts timed out") from None
        except httpx.HTTPError as exc:
            raise transport_error(exc) from exc
        if response.status_code == 404:
            return []  # no artifact store for this session yet
        if response.status_code >= 400:
            raise status_error(response.status_code, response.content)
        try:
            return response.json()
        except (ValueError, json.JSONDecodeError) as exc:
            raise AgentProtocolError(f"unreadable artifacts list ({exc})") from exc

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()
