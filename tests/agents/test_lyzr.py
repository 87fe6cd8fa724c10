"""The Lyzr agent against the local Lyzr-format server: wire details, errors, timeouts,
retries, structured output, artifacts and cancellation."""

from __future__ import annotations

import asyncio
import socket

import pytest
from pydantic import BaseModel

from core.agents.lyzr import LyzrAgent
from core.agents.transport import AgentUnreachableError, StreamTimeouts
from core.errors import (
    AgentAuthError,
    AgentCreditsError,
    AgentError,
    AgentNotFoundError,
    AgentProtocolError,
    AgentServerError,
    AgentTimeoutError,
)
from core.models import ARTIFACTS_ERROR_KEY, AgentStream
from tests.agents.conftest import lyzr_agent
from tests.servers.lyzr_server import LyzrScript, LyzrServer


async def collect(agent: LyzrAgent, message: str = "hi", **kw: object) -> list[AgentStream]:
    options: dict[str, object] = {"session_id": "s1", "user_id": "u1"}
    options.update(kw)
    return [chunk async for chunk in agent.stream(message, **options)]  # type: ignore[arg-type]


def text_of(chunks: list[AgentStream]) -> str:
    return "".join(c.content for c in chunks)


async def test_request_shape_and_chunks(lyzr: LyzrAgent, lyzr_server: LyzrServer) -> None:
    chunks = await collect(lyzr, "hello there")
    request = lyzr_server.stream_requests()[0]
    assert request.headers["x-api-key"] == "test-key"
    assert request.json == {
        "user_id": "u1",
        "agent_id": "agent-1",
        "session_id": "s1",
        "message": "hello there",
    }
    assert text_of(chunks) == "You said: hello there"
    assert all(c.delta == c.content for c in chunks)
    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    assert {c.session_id for c in chunks} == {"s1"}
    assert [c.done for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].content == ""


TRICKY = ["Line one\nline two", " «ünïcødé» 日本語 😀", ' "quoted" & <tagged>', " back\\slash\t"]


@pytest.mark.parametrize("chunk_size", [None, 1, 2, 3, 5, 7])
async def test_escapes_and_multibyte_text_split_across_reads(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, chunk_size: int | None
) -> None:
    lyzr_server.default = LyzrScript(tokens=TRICKY, chunk_size=chunk_size)
    chunks = await collect(lyzr)
    assert text_of(chunks) == "".join(TRICKY)
    assert chunks[-1].done


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
@pytest.mark.parametrize("chunk_size", [None, 1, 4])
async def test_every_sse_line_ending_reads_the_same(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, line_end: str, chunk_size: int | None
) -> None:
    # The SSE spec ends a line at CRLF, LF or a bare CR. A bare CR used to be kept as
    # text: the whole body became one line, shown to the user with its "data:" prefixes.
    lyzr_server.default = LyzrScript(tokens=TRICKY, line_end=line_end, chunk_size=chunk_size)
    chunks = await collect(lyzr)
    assert text_of(chunks) == "".join(TRICKY)
    assert chunks[-1].done


@pytest.mark.parametrize("chunk_size", [None, 1])
async def test_a_byte_order_mark_does_not_lose_the_first_token(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, chunk_size: int | None
) -> None:
    lyzr_server.default = LyzrScript(tokens=["First", " second"], bom=True, chunk_size=chunk_size)
    assert text_of(await collect(lyzr)) == "First second"


async def test_entities_and_backslash_escapes_verbatim(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    wire = [r"a\nb", " &lt;b&gt; &amp;amp;", r" \u00e9\\n"]
    lyzr_server.default = LyzrScript(tokens=wire, escape=False)
    assert text_of(await collect(lyzr)) == "a\nb <b> &amp; é\\n"


async def test_think_reasoning_is_kept_out_of_the_text(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["<thi", "nk>let me ", "see</th", "ink>\n\n", "42"])
    chunks = await collect(lyzr)
    assert text_of(chunks) == "42"
    assert chunks[-1].metadata["reasoning"] == "let me see"


async def test_error_event_raises_after_the_text_so_far(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["one", " two", " three"], error_after=2)
    received: list[str] = []
    with pytest.raises(AgentServerError, match="model exploded"):
        async for chunk in lyzr.stream("hi", session_id="s", user_id="u"):
            received.append(chunk.content)
    assert "".join(received) == "one two"  # the text before the error still goes first
    assert len(lyzr_server.stream_requests()) == 1  # an agent-reported error is not retried


async def test_missing_done_is_an_error_not_a_silent_success(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["partial"], done=False)
    received: list[str] = []
    with pytest.raises(AgentProtocolError, match=r"\[DONE\]"):
        async for chunk in lyzr.stream("hi", session_id="s", user_id="u"):
            received.append(chunk.content)
    assert received == ["partial"]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, AgentAuthError),
        (403, AgentAuthError),
        (404, AgentNotFoundError),
        (429, AgentCreditsError),
        (500, AgentServerError),
        (503, AgentServerError),
    ],
)
async def test_http_errors_before_the_stream(
    lyzr_server: LyzrServer, status: int, error: type[AgentError]
) -> None:
    lyzr_server.default = LyzrScript(status=status, detail=f"detail for {status}")
    agent = lyzr_agent(lyzr_server, retries=1)
    with pytest.raises(error) as caught:
        await collect(agent)
    await agent.aclose()
    assert caught.value.status == status
    assert f"detail for {status}" in caught.value.detail
    assert caught.value.notice in str(caught.value)
    attempts = 2 if status == 503 else 1  # only a refusal that nobody took it is retried
    assert len(lyzr_server.stream_requests()) == attempts


async def test_bad_key_is_an_auth_error(lyzr_server: LyzrServer) -> None:
    agent = LyzrAgent(api_key="wrong", agent_id="a", base_url=lyzr_server.base_url)
    with pytest.raises(AgentAuthError, match="Invalid API key"):
        await collect(agent)
    await agent.aclose()


@pytest.mark.looptime
async def test_silent_server_times_out_before_the_headers(lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(header_delay=60)
    agent = lyzr_agent(lyzr_server, retries=0)
    with pytest.raises(AgentTimeoutError, match="no response within 5s"):
        await collect(agent)
    await agent.aclose()


@pytest.mark.looptime
async def test_idle_gap_times_out_and_is_not_retried_after_text(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["a", " b", " c"], stall_after=2, stall=60)
    received: list[str] = []
    with pytest.raises(AgentTimeoutError, match="no new token"):
        async for chunk in lyzr.stream("hi", session_id="s", user_id="u"):
            received.append(chunk.content)
    assert "".join(received) == "a b"  # kept, never repeated
    assert len(lyzr_server.stream_requests()) == 1


@pytest.mark.looptime
async def test_slow_but_steady_stream_is_not_idle(lyzr: LyzrAgent, lyzr_server: LyzrServer) -> None:
    tokens = [f" t{i}" for i in range(10)]
    lyzr_server.default = LyzrScript(tokens=tokens, delay=1.5, first_delay=4.0)  # budgets 5/2
    assert text_of(await collect(lyzr)) == "".join(tokens)


@pytest.mark.looptime
async def test_a_slow_consumer_does_not_count_as_idle_server(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["a", " b", " c", " d"], delay=1.5)
    received = []
    async for chunk in lyzr.stream("hi", session_id="s", user_id="u"):
        received.append(chunk.content)
        await asyncio.sleep(10)  # far beyond the 2 s idle budget; the server kept pace
    assert "".join(received) == "a b c d"


async def test_unreachable_server_is_retried_then_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    agent = LyzrAgent(
        api_key="k",
        agent_id="a",
        base_url=f"http://127.0.0.1:{port}",
        timeouts=StreamTimeouts(connect=1, first_token=2, idle=1),
        retries=1,
        backoff=0.01,
    )
    with pytest.raises(AgentUnreachableError):
        await collect(agent)
    await agent.aclose()


class Summary(BaseModel):
    title: str
    points: list[str]


async def test_structured_output_is_parsed_on_the_final_chunk(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(
        tokens=["```json\n", '{"title": "Exercise",', ' "points": ["heart", "mood"]}', "\n```"]
    )
    chunks = await collect(lyzr, "summarize", response_format=Summary)
    final = chunks[-1]
    assert final.structured_data == Summary(title="Exercise", points=["heart", "mood"])
    assert "structured_error" not in final.metadata
    assert all(c.structured_data is None for c in chunks[:-1])
    sent = lyzr_server.stream_requests()[0].json["message"]
    assert sent.startswith("summarize\n\n") and '"points"' in sent  # the schema was asked for


async def test_structured_parse_failure_keeps_the_text(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["Sorry,", " no JSON today."])
    chunks = await collect(lyzr, "summarize", response_format=Summary)
    assert text_of(chunks) == "Sorry, no JSON today."
    assert chunks[-1].structured_data is None
    assert chunks[-1].metadata["structured_error"]


async def test_artifacts_arrive_on_the_final_chunk_and_download(
    lyzr: LyzrAgent, lyzr_server: LyzrServer, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THREADCAST_ARTIFACT_ALLOW_HOSTS", "127.0.0.1")  # the local server
    url = lyzr_server.add_file("report.pdf", b"%PDF-1.7 demo")
    lyzr_server.default = LyzrScript(
        tokens=["Report", " ready"],
        artifacts={"artifacts": [{"file_url": url, "name": "report.pdf", "format_type": "pdf"}]},
    )
    chunks = await collect(lyzr, "make a report")
    final = chunks[-1]
    assert final.has_files() and all(not c.has_files() for c in chunks[:-1])
    (artifact,) = final.files
    assert (artifact.name, artifact.url, artifact.format_type) == ("report.pdf", url, "pdf")
    listing = next(r for r in lyzr_server.requests if r.path == "/v3/artifacts/")
    assert listing.query == {"user_id": "u1", "session_id": "s1", "page": "1", "limit": "50"}
    assert listing.headers["x-api-key"] == "test-key"
    assert await artifact.fetch() == b"%PDF-1.7 demo"
    saved = await artifact.adownload(tmp_path)
    assert saved.read_bytes() == b"%PDF-1.7 demo"
    # The same session's next reply does not deliver the old file again.
    assert not (await collect(lyzr, "again"))[-1].has_files()


async def test_artifact_listing_failure_does_not_fail_the_reply(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["fine"], artifacts_status=500)
    chunks = await collect(lyzr)
    assert text_of(chunks) == "fine"
    assert chunks[-1].done and not chunks[-1].has_files()
    assert "HTTP 500" in chunks[-1].metadata[ARTIFACTS_ERROR_KEY]


async def test_closing_the_stream_early_closes_the_http_response(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=[f" w{i}" for i in range(1000)], delay=0.01)
    stream = lyzr.stream("hi", session_id="s", user_id="u")
    received = [await anext(stream) for _ in range(3)]
    words = "".join(c.content for c in received).split()  # tokens of one read: one chunk
    assert words == [f"w{i}" for i in range(len(words))] and len(words) >= 3
    await stream.aclose()
    await asyncio.wait_for(lyzr_server.disconnected.wait(), timeout=10)
    record = lyzr_server.streams[0]
    assert record.disconnected and not record.finished


async def test_cancelling_the_consumer_task_closes_the_http_response(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["first"] + [" more"] * 1000, delay=0.01)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in lyzr.stream("hi", session_id="s", user_id="u"):
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(lyzr_server.disconnected.wait(), timeout=10)
    assert not lyzr_server.streams[0].finished


async def test_bad_input_is_cleaned_before_sending(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    await collect(lyzr, "ok\x00\x07 \ud800 tab\tnewline\n")
    assert lyzr_server.stream_requests()[0].json["message"] == "ok \ufffd tab\tnewline\n"
