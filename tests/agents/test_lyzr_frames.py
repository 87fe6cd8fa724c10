"""JSON frames and escapes in the Lyzr stream (issue 10, items 3 and 4).

A ``data:`` line that is a JSON object with the keys lyzr-adk reads is an event: its
``content`` is text, a tool event becomes a status chunk (empty ``content``,
``metadata["status"]``), a thinking event is reasoning. Anything else stays plain text.
"""

from __future__ import annotations

import pytest

from core.agents.lyzr import LyzrAgent
from core.agents.lyzr_wire import (
    Done,
    Failed,
    Frames,
    Status,
    Token,
    error_text,
    parse_line,
    unescape,
)
from core.agents.transport import StreamTimeouts
from core.models import STATUS_KEY
from tests.agents.conftest import lyzr_agent
from tests.agents.test_lyzr import collect, text_of
from tests.servers.lyzr_server import LyzrScript, LyzrServer

TOOL_CALL = {
    "type": "local_tool_call",
    "tool_name": "web_search",
    "arguments": {"query": "weather in Lisbon"},
}


async def test_content_frames_are_text_and_tool_frames_a_status(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(
        tokens=[
            {"content": "Let me"},
            {"content": " check.", "delta": " check."},
            TOOL_CALL,
            {"type": "thinking", "content": "the user wants today's weather"},
            " Sunny & 24 °C.",
        ]
    )
    chunks = await collect(lyzr)
    assert text_of(chunks) == "Let me check. Sunny & 24 °C."
    statuses = [c for c in chunks if c.metadata.get(STATUS_KEY)]
    assert [c.metadata[STATUS_KEY] for c in statuses] == ["Using web_search…"]
    assert all(c.content == "" and not c.done for c in statuses)
    assert statuses[0].metadata["tool"] == "web_search"
    assert "local_tool_call" not in text_of(chunks) and "{" not in text_of(chunks)
    assert chunks[-1].metadata["reasoning"] == "the user wants today's weather"


async def test_json_that_is_not_an_event_stays_text(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    tokens = ['{"a": 1}', " [1, 2]", ' {"type": 3}', " {not json}"]
    lyzr_server.default = LyzrScript(tokens=tokens)
    assert text_of(await collect(lyzr)) == "".join(tokens)


@pytest.mark.looptime
async def test_tool_frames_while_the_first_token_is_slow(lyzr_server: LyzrServer) -> None:
    # Tools run for 100 s, then for another 100 s: each tool event shows the agent is
    # working, and the text comes 200 s after the request, sent once.
    lyzr_server.default = LyzrScript(
        tokens=[TOOL_CALL, {"type": "tool_call", "name": "read_file"}, "Done."],
        first_delay=100,
        delay=100,
    )
    agent = lyzr_agent(lyzr_server, timeouts=StreamTimeouts())
    chunks = await collect(agent)
    await agent.aclose()
    assert text_of(chunks) == "Done."
    assert [c.metadata.get(STATUS_KEY) for c in chunks if not c.content and not c.done] == [
        "Using web_search…",
        "Using read_file…",
    ]
    assert len(lyzr_server.stream_requests()) == 1


async def test_backslash_ampersand_is_decoded(lyzr: LyzrAgent, lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(tokens=["R&D", " & <b>"], amp_escape="\\&")
    assert text_of(await collect(lyzr)) == "R&D & <b>"


@pytest.mark.parametrize(
    ("wire", "text"),
    [
        (r"R\&D", "R&D"),
        (r"\\&", "\\&"),  # an escaped backslash, then a plain ampersand
        (r"a \&amp; b", "a &amp; b"),  # decoded once only
    ],
)
def test_unescape_ampersand(wire: str, text: str) -> None:
    assert unescape(wire) == text


def test_frames_parse_by_type() -> None:
    assert parse_line('data: {"content": "hi \\\\n"}') == Token("hi \\n")  # JSON-decoded once
    assert parse_line('data: {"content": "x", "type": "content"}') == Token("x")
    assert parse_line('data: {"type": "local_tool_call", "tool_name": "calc"}') == Status(
        "tool", "calc"
    )
    nested = '{"type": "tool_call", "function": {"name": "local_tool", "arguments": '
    nested += '"{\\"tool_name\\": \\"read_file\\"}"}}'
    assert parse_line(f"data: {nested}") == Status("tool", "read_file")
    assert parse_line('data: {"type": "tool_call"}') == Status("tool", None)
    assert parse_line('data: {"content": 5}') == Token('{"content": 5}')
    assert parse_line('data: {"kind": "x"}') == Token('{"kind": "x"}')


def test_the_end_marker_is_read_with_trailing_blanks_but_a_token_keeps_its_own() -> None:
    assert parse_line("data: [DONE] ") == Done()
    assert parse_line("data: [DONE]\t") == Done()
    assert parse_line("data:  [DONE]") == Token(" [DONE]")  # a token's leading space: text


def test_error_text_reads_words_out_of_json() -> None:
    assert error_text(' {"detail": "quota"} ') == "quota"
    assert error_text('{"error": {"message": "boom", "type": "server"}}') == "boom"
    assert error_text('{"detail": [{"loc": ["body"], "msg": "bad"}, {"msg": "worse"}]}') == (
        "bad; worse"
    )
    assert error_text('{"code": 7}') == ""
    assert error_text("[ERROR] plain words") == "plain words"
    assert error_text("{not json") == "{not json"
    assert len(error_text("x" * 2000)) == 500


def test_error_frames_and_what_stays_text() -> None:
    assert parse_line('data: {"error": "boom"}') == Failed("boom")
    assert parse_line('data: {"type": "Error", "detail": "boom"}') == Failed("boom")
    assert parse_line('data: [ERROR] {"detail": "boom"}') == Failed("boom")
    assert parse_line("data: [ERROR]") == Failed("")
    # "error": null, or an error key beside content, is no error
    assert parse_line('data: {"content": "hi", "error": null}') == Token("hi")
    assert parse_line('data: {"error": null}') == Token('{"error": null}')
    # a tool's result may report the tool's own failure: the reply goes on
    failed_tool = '{"type": "tool_result", "tool_name": "calc", "error": "division by zero"}'
    assert parse_line(f"data: {failed_tool}") == Status("tool", "calc")


def test_an_error_event_is_read_whole_even_without_its_blank_line() -> None:
    frames = Frames()
    assert frames.feed("event: error") is None and frames.in_error
    assert frames.feed('data: {"detail":') is None
    assert frames.feed('data: "split"}') is None
    assert frames.flush() == Failed("split")
    assert not frames.in_error
    assert frames.feed("event: error") is None
    assert frames.feed("") is None  # an event without data is not dispatched (SSE spec)
    assert frames.feed("event: message") is None and not frames.in_error
