"""The demo agent: offline and deterministic, the default when no agent is configured.

It streams its replies (:mod:`core.agents.demo_script`) token by token with a small delay,
so ``threadcast chat`` shows the real streaming path with no account and no network, and
it remembers each session's messages (in Redis when given one) to show sessions working.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Iterator

from core.agents.base import AgentRequest
from core.agents.demo_script import compose_reply
from core.agents.history import HistoryStore, MemoryHistory
from core.agents.reference import ReferenceCalls
from core.agents.reply import ReplyBuilder
from core.agents.text import clean_message
from core.context.models import FileKind, TurnContext
from core.errors import AgentServerError
from core.models import AgentStream

__all__ = ["DemoAgent"]

_WORD = re.compile(r"\s*\S+")


class DemoAgent(ReferenceCalls):
    """Deterministic replies; ``delay`` seconds between tokens (0 for tests).

    With a turn's context, the reply starts by saying what it received (how many earlier
    messages, from whom, which files), so a user sees the feature work offline.
    """

    file_kinds: frozenset[FileKind] = frozenset({"text", "image"})

    def __init__(self, *, delay: float = 0.02, history: HistoryStore | None = None) -> None:
        self.delay = delay
        self.history: HistoryStore = history if history is not None else MemoryHistory()

    async def _stream(self, request: AgentRequest) -> AsyncGenerator[AgentStream, None]:
        text = clean_message(request.message)
        past = await self.history.load(request.session_id)
        said = [m["content"] for m in past if m["role"] == "user"]
        reply = compose_reply(text, said, request.response_format)
        builder = ReplyBuilder(
            request.session_id, response_format=request.response_format, keep_text=True
        )
        body = reply.text
        if request.context and request.response_format is None:
            body = f"{received(request.context)}\n\n{body}"
        for token in _tokens(body, reply.words_per_token):
            # A fixed delay per token mimics a model's pace; sleep(0) still yields to the
            # loop so a zero-delay demo cannot starve other replies.
            await asyncio.sleep(self.delay)
            chunk = builder.text(token)
            if chunk is not None:
                yield chunk
        if reply.fail_after_text:
            raise AgentServerError("the demo agent failed on purpose (you asked for an error)")
        final = builder.finish(artifacts=reply.artifacts, metadata={"agent": "demo"})
        await self.history.append(request.session_id, text, builder.full_text)
        for chunk in final:
            yield chunk

    async def aclose(self) -> None:
        return None


def received(context: TurnContext) -> str:
    """The demo's first paragraph: what came with the message."""
    said = []
    if context.messages:
        authors = sorted({m.author for m in context.messages})
        count = len(context.messages)
        noun = "message" if count == 1 else "messages"
        said.append(f"{count} earlier {noun} of this thread (from {', '.join(authors)})")
    if context.left_out:
        said.append(f"a note that {context.left_out} older ones were left out")
    if context.files:
        said.append("your files " + ", ".join(f"{f.name} ({f.kind})" for f in context.files))
    if not said:
        return "(Some of your files did not reach me.)"
    return f"(I received {'; '.join(said)}.)"


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
