"""Helpers shared by the backends: structured parsing, error mapping, artifact shapes,
retry, message cleaning, chunk assembly."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import httpx
import pytest
from pydantic import BaseModel

from core.agents.artifacts import MemoryDelivered, parse_artifacts
from core.agents.reply import ReplyBuilder
from core.agents.retry import retry_before_output
from core.agents.structured import parse_structured
from core.agents.text import clean_message
from core.agents.transport import (
    AgentBusyError,
    AgentUnreachableError,
    StreamTimeouts,
    is_retryable,
    status_error,
    transport_error,
)
from core.errors import (
    AgentAuthError,
    AgentCreditsError,
    AgentForbiddenError,
    AgentNotFoundError,
    AgentProtocolError,
    AgentRateLimitedError,
    AgentServerError,
    AgentTimeoutError,
)


class Point(BaseModel):
    x: int
    y: int


@pytest.mark.parametrize(
    "text",
    [
        '{"x": 1, "y": 2}',
        '  {"x": 1, "y": 2}\n',
        '```json\n{"x": 1, "y": 2}\n```',
        '```\n{"x": 1, "y": 2}\n```',
        'Here you go:\n```json\n{"x": 1, "y": 2}\n```\nEnjoy.',
        'Sure! {"x": 1, "y": 2}',
    ],
)
def test_structured_text_is_tolerated(text: str) -> None:
    assert parse_structured(text, Point) == (Point(x=1, y=2), None)


def test_structured_failure_says_why() -> None:
    value, problem = parse_structured('{"x": 1}', Point)
    assert value is None and problem is not None and problem.startswith("y:")
    assert parse_structured("no json", Point)[1]
    assert parse_structured("", Point)[1] == "the reply contains no JSON object"


@pytest.mark.parametrize(
    ("status", "body", "error", "detail"),
    [
        (401, b'{"detail": "Invalid API key"}', AgentAuthError, "Invalid API key"),
        (403, b'{"detail": "forbidden"}', AgentForbiddenError, "forbidden"),
        (404, b'{"detail": "Agent not found"}', AgentNotFoundError, "Agent not found"),
        (429, b'{"detail": "Out of credits"}', AgentCreditsError, "Out of credits"),
        (500, b'{"error": {"message": "boom"}}', AgentServerError, "boom"),
        (422, b'{"detail": [{"loc": ["body"], "msg": "bad"}]}', AgentServerError, '"msg": "bad"'),
        (502, b"<html>Bad Gateway</html>", AgentServerError, "Bad Gateway"),
    ],
)
def test_status_errors(status: int, body: bytes, error: type[Exception], detail: str) -> None:
    exc = status_error(status, body)
    assert type(exc) is error
    assert exc.status == status and detail in exc.detail


def test_artifact_shapes() -> None:
    item = {"file_url": "https://f/x.pdf", "name": "x.pdf", "format_type": "pdf"}
    for payload in (
        [item],
        {"artifacts": [item]},
        {"artifact_files": [item]},
        {"data": [item]},
        {"data": {"artifacts": [item]}},
    ):
        (artifact,) = parse_artifacts(payload)
        assert (artifact.name, artifact.url, artifact.format_type) == (
            "x.pdf",
            "https://f/x.pdf",
            "pdf",
        )
    guessed, linkless = parse_artifacts(
        [{"url": "https://f/dir/chart.png", "id": 7}, {"name": "no url"}, {"id": 9}, 3]
    )
    assert (guessed.name, guessed.format_type, guessed.artifact_id) == ("chart.png", "png", "7")
    assert (linkless.name, linkless.url) == ("no url", "")  # named in the notice later
    assert parse_artifacts({"unrelated": 1}) == [] and parse_artifacts("nope") == []


async def test_delivered_artifacts_are_not_repeated() -> None:
    delivered = MemoryDelivered(max_sessions=1)
    (a,) = parse_artifacts([{"file_url": "https://f/a", "name": "a"}])
    (b,) = parse_artifacts([{"file_url": "https://f/b", "name": "b"}])
    assert await delivered.claim("s", [a]) == [a]
    assert await delivered.claim("s", [a, b]) == [b]
    await delivered.claim("t", [])  # evicts "s": in memory only, files would repeat once
    assert await delivered.claim("s", [a]) == [a]


async def test_retry_only_before_output() -> None:
    attempts = []

    def attempt_factory(fail_after: int) -> AsyncGenerator[str, None]:
        async def attempt() -> AsyncGenerator[str, None]:
            attempts.append(1)
            for n in range(fail_after):
                yield f"t{n}"
            raise AgentUnreachableError("refused")

        return attempt()

    with pytest.raises(AgentUnreachableError):
        async for _ in retry_before_output(lambda: attempt_factory(0), retries=3, backoff=0):
            pass
    assert len(attempts) == 4
    attempts.clear()
    seen = []
    with pytest.raises(AgentUnreachableError):
        async for item in retry_before_output(lambda: attempt_factory(1), retries=3, backoff=0):
            seen.append(item)
    assert (len(attempts), seen) == (1, ["t0"])


def test_clean_message() -> None:
    assert clean_message("a\x00b\x1b[31mc\x7f\td\ne\r") == "ab[31mc\td\ne\r"
    assert clean_message("x\udc80y") == "x\ufffdy"
    assert clean_message("日本 😀") == "日本 😀"


def test_reply_builder_final_chunk_flushes_held_text() -> None:
    builder = ReplyBuilder("s")
    assert builder.text("<thi") is None  # might be a tag: held back
    final = builder.finish(metadata={"k": 1})
    assert [c.content for c in final] == ["<thi", ""]
    assert [c.chunk_index for c in final] == [0, 1]
    assert final[-1].done and final[-1].metadata == {"k": 1}
    assert final[-1].to_dict()["done"] is True


def test_transport_errors_are_translated_and_classified() -> None:
    # Nothing was sent: worth another attempt.
    connect_timeout = transport_error(httpx.ConnectTimeout("slow"))
    unreachable = transport_error(httpx.ConnectError("refused"))
    assert isinstance(connect_timeout, AgentUnreachableError) and is_retryable(connect_timeout)
    assert isinstance(unreachable, AgentUnreachableError) and is_retryable(unreachable)
    # The request may have reached the agent: never again.
    cut = transport_error(httpx.RemoteProtocolError("peer closed"))
    stalled = transport_error(httpx.ReadTimeout("slow"))
    assert isinstance(cut, AgentProtocolError) and not is_retryable(cut)
    assert isinstance(stalled, AgentTimeoutError) and not is_retryable(stalled)
    assert not is_retryable(AgentTimeoutError("no first token within 180s"))
    assert not is_retryable(AgentServerError("x", status=500))
    # A queue for a connection is neither slowness nor worth waiting twice as long.
    busy = transport_error(httpx.PoolTimeout("full"))
    assert isinstance(busy, AgentBusyError) and not isinstance(busy, AgentTimeoutError)
    assert not is_retryable(busy)
    assert is_retryable(AgentServerError("x", status=503))
    # A gateway that passed the request on: the agent may be running it.
    assert not any(is_retryable(AgentServerError("x", status=s)) for s in (502, 504))
    assert not is_retryable(AgentServerError("[ERROR] in the stream"))
    assert not is_retryable(AgentCreditsError("x", status=429))


def test_httpx_gets_the_connect_timeout_and_no_read_timeout() -> None:
    timeout = StreamTimeouts(connect=3, first_token=9, idle=4).for_httpx()
    assert (timeout.connect, timeout.read, timeout.pool) == (3, None, 9)


def test_a_429_is_a_rate_limit_only_when_the_server_says_so() -> None:
    limited = b'{"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}'
    exc = status_error(429, limited, httpx.Headers({"retry-after": "2"}))
    assert isinstance(exc, AgentRateLimitedError) and exc.retry_after == 2.0
    exc = status_error(429, limited, httpx.Headers({"retry-after-ms": "150", "retry-after": "1"}))
    assert isinstance(exc, AgentRateLimitedError) and exc.retry_after == 0.15
    quota = b'{"error": {"message": "exceeded your quota", "code": "insufficient_quota"}}'
    assert type(status_error(429, quota, httpx.Headers({"retry-after": "2"}))) is AgentCreditsError
