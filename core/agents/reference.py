"""The reference SDK's call shape (``agent.run(...)``) on top of :meth:`Agent.stream`.

Code written against the reference SDK keeps working::

    for chunk in agent.run("Hello", session_id="s1", stream=True):   # a plain iterator
        print(chunk.content, end="", flush=True)
    print(agent.run("Hello").response)                               # a whole reply

and the bots use the async twins (``arun``). The sync calls drive the async stream on a
private event loop owned by the agent, one step per chunk, so a script that stops reading
early still closes the HTTP stream (the iterator's ``close()`` closes the async one). Use
one agent object either from sync code or from async code: connections pooled on one event
loop cannot be reused on another.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Coroutine, Generator
from typing import Any, Literal, TypedDict, TypeVar, Unpack, overload

from pydantic import BaseModel

from core.agents.base import Agent, AgentRequest
from core.context.models import TurnContext
from core.models import AgentResponse, AgentStream

__all__ = ["ReferenceAgent", "ReferenceCalls", "RunOptions", "new_session_id"]

T = TypeVar("T")


def new_session_id() -> str:
    return f"session_{uuid.uuid4().hex}"


class RunOptions(TypedDict, total=False):
    """The keywords of ``run``/``arun`` besides ``stream``: ``session_id`` (a new one when
    absent or ``None``), ``user_id`` (``"default"`` when absent), and ``response_format``
    and ``context`` as in :meth:`Agent.stream`."""

    session_id: str | None
    user_id: str
    response_format: type[BaseModel] | None
    context: TurnContext | None


class _PrivateLoop:
    """An event loop of our own, run one awaitable at a time from any thread."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, awaitable: Coroutine[Any, Any, T]) -> T:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            awaitable.close()
            raise RuntimeError("agent.run() blocks; inside async code use agent.arun()")
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(awaitable)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                self._loop.close()


_CREATE_LOOP = threading.Lock()


class ReferenceCalls(ABC):
    """Mixin: ``run``/``arun``/``close`` for any class that has ``stream`` and ``aclose``."""

    _private_loop: _PrivateLoop | None = None

    def stream(
        self,
        message: str,
        *,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AsyncGenerator[AgentStream, None]:
        """:meth:`Agent.stream`: the call's arguments go on as one :class:`AgentRequest`."""
        return self._stream(AgentRequest(message, session_id, user_id, response_format, context))

    @abstractmethod
    def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        """The backend's stream for ``request`` (an async generator in each backend)."""

    @abstractmethod
    async def aclose(self) -> None: ...

    @overload
    def run(
        self, message: str, *, stream: Literal[True], **options: Unpack[RunOptions]
    ) -> Generator[AgentStream, None, None]: ...

    @overload
    def run(
        self, message: str, *, stream: Literal[False] = False, **options: Unpack[RunOptions]
    ) -> AgentResponse: ...

    def run(
        self, message: str, *, stream: bool = False, **options: Unpack[RunOptions]
    ) -> Generator[AgentStream, None, None] | AgentResponse:
        """Blocking call for scripts: an iterator of chunks, or the whole response."""
        request = _request(message, options)
        if stream:
            return _iterate(self._loop(), self._stream(request))
        return self._loop().run(self._collect(request))

    @overload
    def arun(
        self, message: str, *, stream: Literal[True], **options: Unpack[RunOptions]
    ) -> AsyncIterator[AgentStream]: ...

    @overload
    def arun(
        self, message: str, *, stream: Literal[False] = False, **options: Unpack[RunOptions]
    ) -> Awaitable[AgentResponse]: ...

    def arun(
        self, message: str, *, stream: bool = False, **options: Unpack[RunOptions]
    ) -> AsyncIterator[AgentStream] | Awaitable[AgentResponse]:
        """Async twin of :meth:`run`: ``async for`` the chunks, or ``await`` the response."""
        request = _request(message, options)
        if stream:
            return self._stream(request)
        return self._collect(request)

    def close(self) -> None:
        """Blocking twin of ``aclose()`` for scripts; also ends the private loop."""
        self._loop().run(self.aclose())
        if self._private_loop is not None:
            self._private_loop.close()

    async def _collect(self, request: AgentRequest) -> AgentResponse:
        parts: list[str] = []
        final: AgentStream | None = None
        async for chunk in self._stream(request):
            parts.append(chunk.content)
            if chunk.done:
                final = chunk
        return AgentResponse(
            response="".join(parts),
            session_id=request.session_id,
            metadata=final.metadata if final else {},
            structured_data=final.structured_data if final else None,
            artifact_files=final.artifact_files if final else [],
        )

    def _loop(self) -> _PrivateLoop:
        with _CREATE_LOOP:
            if self._private_loop is None:
                self._private_loop = _PrivateLoop()
            return self._private_loop


def _request(message: str, options: RunOptions) -> AgentRequest:
    """A ``run``/``arun`` call's request: a new session unless one was named."""
    unknown = options.keys() - RunOptions.__optional_keys__
    if unknown:  # what a plain keyword parameter list would refuse
        raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
    return AgentRequest(
        message,
        options.get("session_id") or new_session_id(),
        options.get("user_id", "default"),
        options.get("response_format"),
        options.get("context"),
    )


def _iterate(
    loop: _PrivateLoop, chunks: AsyncIterator[AgentStream]
) -> Generator[AgentStream, None, None]:
    """A sync generator over ``chunks``; closing it (or dropping it) closes the stream."""
    try:
        while True:
            chunk = loop.run(_next(chunks))
            if chunk is None:
                return
            yield chunk
    finally:
        loop.run(_aclose(chunks))


async def _aclose(chunks: AsyncIterator[AgentStream]) -> None:
    """Close ``chunks`` (and so the HTTP stream under it) where it can be closed."""
    close = getattr(chunks, "aclose", None)
    if close is not None:
        await close()


async def _next(chunks: AsyncIterator[AgentStream]) -> AgentStream | None:
    return await anext(chunks, None)


class ReferenceAgent(ReferenceCalls):
    """Give any :class:`~core.agents.base.Agent` the reference call shape."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        chunks = self.agent.stream(
            request.message, session_id=request.session_id, user_id=request.user_id,
            response_format=request.response_format, context=request.context,
        )  # fmt: skip
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            await _aclose(chunks)

    async def aclose(self) -> None:
        await self.agent.aclose()
