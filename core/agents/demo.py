"""The demo agent: offline and deterministic, the default when no agent is configured.

It streams its replies (:mod:`core.agents.demo_script`) token by token with a small delay,
so ``threadcast chat`` shows the real streaming path with no account and no network, and
it remembers each session's messages (in Redis when given one) to show sessions working.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Iterator

from pydantic import BaseModel

from core.agents.demo_script import compose_reply
from core.agents.history import HistoryStore, MemoryHistory
from core.agents.reference import ReferenceCalls
from core.agents.reply import ReplyBuilder
from core.agents.text import clean_message
from core.errors import AgentServerError
from core.models import AgentStream

__all__ = ["DemoAgent"]

_WORD = re.compile(r"\s*\S+")


class DemoAgent(ReferenceCalls):
    """Deterministic replies; ``delay`` seconds between tokens (0 for tests)."""

    def __init__(self, *, delay: float = 0.02, history: HistoryStore | None = None) -> None:
        self.delay = delay
        self.history: HistoryStore = history if history is not None else MemoryHistory()

    async def stream(
        self,
        message: str,
        *,
        session_id: str,
        user_id: str,
        response_format: type[BaseModel] | None = None,
    ) -> AsyncGenerator[AgentStream, None]:
        text = clean_message(message)
        past = await self.history.load(session_id)
        said = [m["content"] for m in past if m["role"] == "user"]
        reply = compose_reply(text, said, response_format)
        builder = ReplyBuilder(session_id, response_format=response_format, keep_text=True)
        for token in _tokens(reply.text, reply.words_per_token):
            # A fixed delay per token mimics a model's pace; sleep(0) still yields to the
            # loop so a zero-delay demo cannot starve other replies.
            await asyncio.sleep(self.delay)
            chunk = builder.text(token)
            if chunk is not None:
                yield chunk
        if reply.fail_after_text:
            raise AgentServerError("the demo agent failed on purpose (you asked for an error)")
        final = builder.finish(artifacts=reply.artifacts, metadata={"agent": "demo"})
        await self.history.append(session_id, text, builder.full_text)
        for chunk in final:
            yield chunk

    async def aclose(self) -> None:
        return None


def _tokens(text: str, words_per_token: int) -> Iterator[str]:
    """Words with their leading whitespace, ``words_per_token`` at a time; all of ``text``."""
    group: list[str] = []
    end = 0
    for match in _WORD.finditer(text):
        group.append(match.group())
        end = match.end()
        if len(group) >= words_per_token:
            yield "".join(group)
            group.clear()
    tail = "".join(group) + text[end:]
    if tail:
        yield tail
