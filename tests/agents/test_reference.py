"""Every usage pattern of the reference guide (agent-streaming-reference.md), run
unchanged against the Lyzr agent and the local Lyzr-format server.

The sync ``run()`` blocks, so each script runs in a worker thread (``asyncio.to_thread``)
while the test's own loop serves the local server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from pydantic import BaseModel, Field

from core.agents.demo import DemoAgent
from core.agents.lyzr import LyzrAgent
from core.agents.reference import ReferenceAgent
from core.models import AgentResponse, AgentStream
from tests.agents.conftest import lyzr_agent
from tests.servers.lyzr_server import LyzrScript, LyzrServer

T = TypeVar("T")


@pytest.fixture
async def agent(lyzr_server: LyzrServer) -> AsyncIterator[LyzrAgent]:
    """An agent for sync use: it lives on its own private loop, closed in a thread too."""
    sync_agent = lyzr_agent(lyzr_server)
    yield sync_agent
    await asyncio.to_thread(sync_agent.close)


async def script(body: Callable[[], T]) -> T:
    return await asyncio.to_thread(body)


async def test_print_as_received(agent: LyzrAgent, capsys: pytest.CaptureFixture[str]) -> None:
    def body() -> None:
        for chunk in agent.run("Explain quantum computing", stream=True):
            print(chunk.content, end="", flush=True)
        print()

    await script(body)
    assert capsys.readouterr().out == "You said: Explain quantum computing\n"


async def test_collect_full_response(agent: LyzrAgent) -> None:
    def body() -> str:
        full_response = ""
        for chunk in agent.run("Write a poem", stream=True):
            full_response += chunk.content
        return full_response

    assert await script(body) == "You said: Write a poem"


async def test_using_list(agent: LyzrAgent) -> None:
    chunks = await script(lambda: list(agent.run("Tell me a joke", stream=True)))
    assert chunks[-1].done is True
    assert all(not c.done for c in chunks[:-1])


async def test_streaming_with_sessions(agent: LyzrAgent, lyzr_server: LyzrServer) -> None:
    session_id = "chat_session_123"

    def body() -> tuple[str, str]:
        first = "".join(
            c.content
            for c in agent.run("Hello, my name is Alice", session_id=session_id, stream=True)
        )
        second = "".join(
            c.content for c in agent.run("What did I say?", session_id=session_id, stream=True)
        )
        return first, second

    first, second = await script(body)
    assert first == "You said: Hello, my name is Alice"
    assert second == "You said: Hello, my name is Alice."
    assert {r.json["session_id"] for r in lyzr_server.stream_requests()} == {session_id}


async def test_chunk_and_character_counters(agent: LyzrAgent) -> None:
    def body() -> tuple[int, list[int], int]:
        chunk_count, indexes, total_chars = 0, [], 0
        for chunk in agent.run("Explain machine learning", stream=True):
            chunk_count += 1
            if chunk.chunk_index is not None:
                indexes.append(chunk.chunk_index)
            total_chars += len(chunk.content)
        return chunk_count, indexes, total_chars

    count, indexes, chars = await script(body)
    assert indexes == list(range(count))
    assert chars == len("You said: Explain machine learning")


async def test_streaming_with_file_output(
    agent: LyzrAgent, lyzr_server: LyzrServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADCAST_ARTIFACT_ALLOW_HOSTS", "127.0.0.1")  # the local server
    url = lyzr_server.add_file("report.pdf", b"%PDF report bytes")
    lyzr_server.default = LyzrScript(
        tokens=["Here", " is", " your", " report."],
        artifacts=[{"file_url": url, "name": "report.pdf", "format_type": "pdf"}],
    )

    def body() -> list[Path]:
        final_chunk = None
        for chunk in agent.run("Create a brief report as PDF", stream=True):
            if chunk.done:
                final_chunk = chunk
        saved = []
        if final_chunk and final_chunk.has_files():
            for file in final_chunk.files:
                saved.append(file.download(tmp_path / "output" / file.name))
        return saved

    (saved,) = await script(body)
    assert saved == tmp_path / "output" / "report.pdf"
    assert saved.read_bytes() == b"%PDF report bytes"


class Summary(BaseModel):
    title: str = Field(description="Summary title")
    points: list[str] = Field(description="Key points")


async def test_streaming_with_structured_output(agent: LyzrAgent, lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(
        tokens=['{"title": "Exercise", ', '"points": ["Stronger heart", "Better sleep"]}']
    )

    def body() -> AgentStream | None:
        final_chunk = None
        for chunk in agent.run(
            "Summarize the benefits of exercise", stream=True, response_format=Summary
        ):
            if chunk.done:
                final_chunk = chunk
        return final_chunk

    final_chunk = await script(body)
    assert final_chunk is not None
    summary = final_chunk.structured_data
    assert isinstance(summary, Summary)
    assert summary.title == "Exercise"
    assert summary.points == ["Stronger heart", "Better sleep"]


async def test_error_handling(
    agent: LyzrAgent, lyzr_server: LyzrServer, capsys: pytest.CaptureFixture[str]
) -> None:
    lyzr_server.default = LyzrScript(tokens=["Partial", " text", " lost"], error_after=2)

    def body() -> None:
        try:
            for chunk in agent.run("Generate content", stream=True):
                print(chunk.content, end="", flush=True)
                if chunk.done:
                    print("\n--- Complete ---")
        except Exception as e:
            print(f"\nStreaming error: {e}")

    await script(body)
    out = capsys.readouterr().out
    assert out.startswith("Partial text\nStreaming error: The agent reported an error.")
    assert "model exploded" in out and "Complete" not in out


async def test_non_streaming_response(agent: LyzrAgent) -> None:
    response = await script(lambda: agent.run("Hello"))
    assert isinstance(response, AgentResponse)
    assert response.response == "You said: Hello"
    assert response.session_id is not None and response.session_id.startswith("session_")


async def test_clean_session_management(agent: LyzrAgent, lyzr_server: LyzrServer) -> None:
    session = f"session_{uuid.uuid4().hex[:8]}"

    def body() -> None:
        for _ in agent.run("Message 1", session_id=session, stream=True):
            pass
        for _ in agent.run("Message 2", session_id=session, stream=True):
            pass
        list(agent.run("no session given", stream=True))
        list(agent.run("no session given", stream=True))

    await script(body)
    sessions = [r.json["session_id"] for r in lyzr_server.stream_requests()]
    assert sessions[:2] == [session, session]
    assert sessions[2].startswith("session_") and sessions[3].startswith("session_")
    assert sessions[2] != sessions[3]  # a fresh session each time none is given


async def test_stopping_early_closes_the_stream(agent: LyzrAgent, lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(tokens=[f" w{i}" for i in range(1000)], delay=0.01)

    def body() -> list[str]:
        seen = []
        stream = agent.run("go on forever", stream=True)
        for chunk in stream:
            seen.append(chunk.content)
            if len("".join(seen).split()) >= 2:  # tokens of one read come as one chunk
                break
        stream.close()  # what CPython does anyway when the iterator is dropped
        return seen

    words = "".join(await script(body)).split()
    assert words[:2] == ["w0", "w1"] and words == [f"w{i}" for i in range(len(words))]
    await asyncio.wait_for(lyzr_server.disconnected.wait(), timeout=10)
    assert not lyzr_server.streams[0].finished


async def test_async_twins(lyzr_server: LyzrServer) -> None:
    agent = lyzr_agent(lyzr_server)
    pieces = [c.content async for c in agent.arun("async hello", session_id="a", stream=True)]
    response = await agent.arun("what did I say?", session_id="a")
    await agent.aclose()
    assert "".join(pieces) == "You said: async hello"
    assert response.response == "You said: async hello."


async def test_sync_run_inside_a_loop_points_to_arun(lyzr_server: LyzrServer) -> None:
    agent = lyzr_agent(lyzr_server)
    with pytest.raises(RuntimeError, match="arun"):
        agent.run("blocked")
    await agent.aclose()
    assert lyzr_server.stream_requests() == []


async def test_reference_agent_wraps_any_agent(lyzr_server: LyzrServer) -> None:
    inner = lyzr_agent(lyzr_server)
    wrapped = ReferenceAgent(inner)
    response = await wrapped.arun("wrapped")
    await wrapped.aclose()
    assert response.response == "You said: wrapped"
    assert inner._http.is_closed


def test_a_misspelt_keyword_is_refused_not_ignored() -> None:
    agent = ReferenceAgent(DemoAgent(delay=0))
    with pytest.raises(TypeError, match="sesion_id"):
        agent.run("hello", sesion_id="s1")  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="sesion_id"):
        agent.arun("hello", stream=True, sesion_id="s1")  # type: ignore[call-overload]
