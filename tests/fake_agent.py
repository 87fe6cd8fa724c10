"""ScriptedAgent: the one in-process agent the tests drive the responder with.

The agent protocol (:class:`core.agents.base.Agent`: ``stream`` and ``aclose``) is
threadcast's own, so an in-process agent is not a stand-in for a remote API (those are the
servers in ``tests/servers/``, spoken to over HTTP): it is an agent, with a script.

By default it answers ``reply to <message>`` in three tokens, ``delay`` seconds apart; a
test changes what it says (``words``), makes a message fail mid-stream (``fail_if``,
``fail_at``, ``error``: a revoked key is ``fail_if="", fail_at=0, error=AgentAuthError``), or
does something inside the stream (``on_call``: logging from the relay's pump task, say).
It records what happened, for assertions and for waiting on state:

- ``calls``: (message, session id) per stream, in the order the streams started;
- ``started``: the messages whose stream started; ``began`` is set at the first one;
- ``sent``: per message, the tokens yielded so far;
- ``closed``: the messages whose stream was closed before its end (stopped, interrupted).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

from core.agents.base import AgentRequest
from core.agents.reference import ReferenceCalls
from core.errors import AgentError
from core.models import AgentStream

__all__ = ["ScriptedAgent", "reply_to"]


def reply_to(message: str) -> list[str]:
    """The default script: ``reply to <message>`` in three tokens."""
    return ["reply", " to", f" {message}"]


class ScriptedAgent(ReferenceCalls):
    """Streams ``words(message)``, ``delay`` seconds before each token (the agent's pace)."""

    def __init__(
        self,
        delay: float = 0.01,
        *,
        words: Callable[[str], list[str]] = reply_to,
        fail_if: str | None = None,
        fail_at: int = 1,
        error: Exception | None = None,
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self.delay = delay
        self.words = words
        self.fail_if = fail_if  # a message containing this raises AgentError at token fail_at
        self.fail_at = fail_at
        self.error = error or AgentError("scripted failure")
        self.on_call = on_call
        self.calls: list[tuple[str, str]] = []
        self.started: list[str] = []
        self.sent: dict[str, list[str]] = {}
        self.closed: list[str] = []
        self.began = asyncio.Event()

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        message, session_id = request.message, request.session_id
        self.calls.append((message, session_id))
        self.started.append(message)
        sent = self.sent.setdefault(message, [])
        self.began.set()
        if self.on_call is not None:
            self.on_call(message)
        finished = False
        try:
            for index, token in enumerate(self.words(message)):
                await asyncio.sleep(self.delay)
                if self.fail_if is not None and self.fail_if in message and index == self.fail_at:
                    raise self.error
                sent.append(token)
                yield AgentStream(content=token, delta=token, chunk_index=index)
            finished = True
            yield AgentStream(done=True, session_id=session_id)
        finally:
            if not finished:
                self.closed.append(message)

    async def aclose(self) -> None:
        pass
