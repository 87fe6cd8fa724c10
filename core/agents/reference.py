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
from collections.abc import AsyncIterator, Awaitable, Coroutine, Generator
from typing import Any, Literal, TypeVar, overload

from pydantic import BaseModel

from core.agents.base import Agent
from core.context.models import TurnContext
from core.models import AgentResponse, AgentStream

__all__ = ["ReferenceAgent", "ReferenceCalls", "new_session_id"]

T = TypeVar("T")


def new_session_id() -> str:
    return f"session_{uuid.uuid4().hex}"


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

    @abstractmethod
    def stream(
        self,
        message: str,
        *,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AsyncIterator[AgentStream]: ...

    @abstractmethod
    async def aclose(self) -> None: ...

    @overload
    def run(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str = "default",
        stream: Literal[True],
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> Generator[AgentStream, None, None]: ...

    @overload
    def run(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str = "default",
        stream: Literal[False] = False,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AgentResponse: ...

    def run(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str = "default",
        stream: bool = False,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> Generator[AgentStream, None, None] | AgentResponse:
        """Blocking call for scripts: an iterator of chunks, or the whole response."""
        session = session_id or new_session_id()
        if stream:
            chunks = self.stream(
                message, session_id=session, user_id=user_id, response_format=response_format,
                context=context,
            )  # fmt: skip
            return _iterate(self._loop(), chunks)
        return self._loop().run(self._collect(message, session, user_id, response_format, context))

    @overload
    def arun(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str = "default",
        stream: Literal[True],
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AsyncIterator[AgentStream]: ...

    @overload
    def arun(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str = "default",
        stream: Literal[False] = False,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> Awaitable[AgentResponse]: ...

    def arun(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str = "default",
        stream: bool = False,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AsyncIterator[AgentStream] | Awaitable[AgentResponse]:
        """Async twin of :meth:`run`: ``async for`` the chunks, or ``await`` the response."""
        session = session_id or new_session_id()
        if stream:
            return self.stream(
                message, session_id=session, user_id=user_id, response_format=response_format,
                context=context,
            )  # fmt: skip
        return self._collect(message, session, user_id, response_format, context)

    def close(self) -> None:
        """Blocking twin of ``aclose()`` for scripts; also ends the private loop."""
        self._loop().run(self.aclose())
        if self._private_loop is not None:
            self._private_loop.close()

    async def _collect(
        self,
        message: str,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None,
        context: TurnContext | None = None,
    ) -> AgentResponse:
        parts: list[str] = []
        final: AgentStream | None = None
        async for chunk in self.stream(
            message, session_id=session_id, user_id=user_id, response_format=response_format,
            context=context,
        ):  # fmt: skip
            parts.append(chunk.content)
            if chunk.done:
                final = chunk
        return AgentResponse(
            response="".join(parts),
            session_id=session_id,
            metadata=final.metadata if final else {},
            structured_data=final.structured_data if final else None,
            artifact_files=final.artifact_files if final else [],
        )

    def _loop(self) -> _PrivateLoop:
        with _CREATE_LOOP:
            if self._private_loop is None:
                self._private_loop = _PrivateLoop()
            return self._private_loop


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
        close = getattr(chunks, "aclose", None)
        if close is not None:
            loop.run(close())


async def _next(chunks: AsyncIterator[AgentStream]) -> AgentStream | None:
    return await anext(chunks, None)


class ReferenceAgent(ReferenceCalls):
    """Give any :class:`~core.agents.base.Agent` the reference call shape."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent

    def stream(
        self,
        message: str,
        *,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None = None,
        context: TurnContext | None = None,
    ) -> AsyncIterator[AgentStream]:
        result: AsyncIterator[AgentStream] = self.agent.stream(
            message, session_id=session_id, user_id=user_id, response_format=response_format,
            context=context,
        )  # fmt: skip
        return result

    async def aclose(self) -> None:
        await self.agent.aclose()
