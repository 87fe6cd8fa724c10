"""The meter counts what streamed and when, and closing it closes the agent's stream."""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.models import AgentStream
from core.usage.meter import ReplyMeter, metered


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_chars_first_token_and_duration() -> None:
    clock = Clock()

    async def chunks() -> AsyncIterator[AgentStream]:
        clock.now += 2.0  # the agent thinks
        yield AgentStream(content="")  # a progress chunk: no text yet
        clock.now += 0.5
        yield AgentStream(content="héllo ")
        clock.now += 1.0
        yield AgentStream(content="world")
        yield AgentStream(done=True)

    meter = ReplyMeter()
    seen = [chunk.content async for chunk in metered(chunks(), meter, clock)]
    assert "".join(seen) == "héllo world"
    assert meter.chars_out == 11
    assert meter.time_to_first_token == 2.5
    assert meter.agent_seconds == 3.5


async def test_closing_the_meter_closes_the_agent_stream() -> None:
    closed: list[bool] = []

    async def chunks() -> AsyncIterator[AgentStream]:
        try:
            while True:
                yield AgentStream(content="x")
        finally:
            closed.append(True)

    meter = ReplyMeter()
    stream = metered(chunks(), meter)
    assert (await anext(stream)).content == "x"
    await stream.aclose()  # type: ignore[attr-defined]
    assert closed == [True]
    assert meter.chars_out == 1 and meter.ended is not None


async def test_a_stream_without_text_has_no_first_token() -> None:
    async def chunks() -> AsyncIterator[AgentStream]:
        yield AgentStream(done=True)

    meter = ReplyMeter()
    assert [c async for c in metered(chunks(), meter)]
    assert meter.time_to_first_token is None and meter.chars_out == 0
