"""Scripted agent streams and a spying scheduler for the relay's tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from core.errors import RateLimited
from core.models import AgentStream, Artifact
from core.relay.scheduler import EditScheduler
from core.surface import BudgetScope

Step = tuple[float | asyncio.Event, str]  # (seconds to wait, or an event to wait for; the text)


@dataclass
class Probe:
    """What happened to a scripted stream: how far it got, and whether its cleanup ran."""

    sent: list[str] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    closed: bool = False
    closed_at: float | None = None


def scripted(
    steps: Sequence[Step],
    probe: Probe | None = None,
    *,
    error: BaseException | None = None,
    structured: BaseModel | None = None,
    artifacts: Sequence[Artifact] = (),
) -> AsyncIterator[AgentStream]:
    """An agent stream (an async generator, like the real agents) playing ``steps``, then
    raising ``error`` or sending the final chunk. ``probe.closed`` proves the generator's
    ``finally`` ran (where a real agent closes its HTTP response)."""
    probe = probe if probe is not None else Probe()

    async def stream() -> AsyncIterator[AgentStream]:
        loop = asyncio.get_running_loop()
        try:
            for index, (delay, text) in enumerate(steps):
                if isinstance(delay, asyncio.Event):
                    await delay.wait()  # the test lets the stream go on
                elif delay:
                    await asyncio.sleep(delay)
                probe.sent.append(text)
                probe.sent_at.append(loop.time())
                yield AgentStream(content=text, delta=text, chunk_index=index)
            if error is not None:
                raise error
            yield AgentStream(done=True, structured_data=structured, artifact_files=list(artifacts))
        finally:
            probe.closed = True
            probe.closed_at = loop.time()

    return stream()


def even(text: str, *, pieces: int, every: float, first: float = 0.0) -> list[Step]:
    """``text`` cut into ``pieces`` chunks, the first after ``first`` s, then every ``every`` s."""
    size = -(-len(text) // pieces)
    chunks = [text[i : i + size] for i in range(0, len(text), size)]
    return [(first if i == 0 else every, chunk) for i, chunk in enumerate(chunks)]


class SpyScheduler(EditScheduler):
    """The real scheduler, recording what the relay reported to it."""

    def __init__(self) -> None:
        super().__init__()
        self.acquired: list[tuple[bool, float]] = []
        self.successes = 0
        self.rate_limits: list[RateLimited] = []

    async def acquire(self, scopes: Sequence[BudgetScope], *, urgent: bool, since: float) -> None:
        self.acquired.append((urgent, since))
        await super().acquire(scopes, urgent=urgent, since=since)

    def succeeded(self, scopes: Sequence[BudgetScope]) -> None:
        self.successes += 1
        super().succeeded(scopes)

    def rate_limited(self, scopes: Sequence[BudgetScope], error: RateLimited) -> None:
        self.rate_limits.append(error)
        super().rate_limited(scopes, error)


async def take_turns(
    replicas: Sequence[EditScheduler], budget: BudgetScope, *, seconds: float, replies: int = 8
) -> list[tuple[float, int]]:
    """``replies`` replies spread over ``replicas``, each taking ``budget``'s tokens as fast
    as they are granted for ``seconds``: every grant's (loop time, replica index)."""
    loop = asyncio.get_running_loop()
    until = loop.time() + seconds
    grants: list[tuple[float, int]] = []

    async def reply(replica: int) -> None:
        while loop.time() < until:
            await replicas[replica].acquire([budget], urgent=False, since=loop.time())
            grants.append((loop.time(), replica))
            replicas[replica].succeeded([budget])

    await asyncio.gather(*(reply(i % len(replicas)) for i in range(replies)))
    return grants
