"""The pure parsing layer: line reassembly, Lyzr escapes and events, OpenAI chunks,
``<think>`` filtering."""

from __future__ import annotations

import itertools
import json

import pytest

from core.agents.lyzr_wire import Done, Failed, Token, parse_line, unescape
from core.agents.openai_wire import Delta, Finished, parse_chunk_line, parse_event, parse_lines
from core.agents.sse import MAX_LINE_CHARS, EventDecoder, LineDecoder, SseEvent, data_field
from core.agents.think import ThinkFilter
from core.errors import AgentError, AgentProtocolError, AgentServerError

BODY = "data: Hé\n\ndata:  ✓ 日本\r\n\r\ndata: 😀 ok\n\ndata: [DONE]\n\n".encode()


def decode_in_pieces(data: bytes, cuts: list[int]) -> list[str]:
    decoder = LineDecoder()
    lines: list[str] = []
    edges = [0, *cuts, len(data)]
    for start, end in itertools.pairwise(edges):
        lines += decoder.feed(data[start:end])
    return lines + decoder.flush()


def test_lines_survive_every_single_split_point() -> None:
    expected = decode_in_pieces(BODY, [])
    assert expected == ["data: Hé", "", "data:  ✓ 日本", "", "data: 😀 ok", "", "data: [DONE]", ""]
    for cut in range(1, len(BODY)):
        assert decode_in_pieces(BODY, [cut]) == expected, cut


def test_lines_survive_byte_by_byte_reads() -> None:
    assert decode_in_pieces(BODY, list(range(1, len(BODY)))) == decode_in_pieces(BODY, [])


CR_BODY = "data: Hé\r\rdata:  ✓\r\ndata: x\r\r\n\ndata: [DONE]\r".encode()


def test_a_bare_cr_ends_a_line_at_every_split_point() -> None:
    # SSE: end-of-line = ( cr lf / cr / lf ); "\r\r\n\n" is three line ends, not four.
    expected = ["data: Hé", "", "data:  ✓", "data: x", "", "", "data: [DONE]"]
    assert decode_in_pieces(CR_BODY, []) == expected
    for cut in range(1, len(CR_BODY)):
        assert decode_in_pieces(CR_BODY, [cut]) == expected, cut
    assert decode_in_pieces(CR_BODY, list(range(1, len(CR_BODY)))) == expected


def test_a_leading_byte_order_mark_is_dropped_at_every_split_point() -> None:
    # SSE: stream = [ bom ] *event. Kept, it made the first line "\ufeffdata: ...", a field
    # nobody reads, and the first token was lost without a word.
    body = b"\xef\xbb\xbf" + BODY
    expected = decode_in_pieces(BODY, [])
    for cut in range(1, 8):
        assert decode_in_pieces(body, [cut]) == expected, cut
    assert decode_in_pieces(body, [1, 2, 3]) == expected
    assert decode_in_pieces(b"\xef\xbb\xbf" + body, [])[0] == "\ufeffdata: Hé"  # one only


def test_last_line_without_newline_is_flushed() -> None:
    decoder = LineDecoder()
    assert decoder.feed(b"data: a\ndata: b") == ["data: a"]
    assert decoder.flush() == ["data: b"]


def test_a_runaway_line_is_refused() -> None:
    decoder = LineDecoder()
    with pytest.raises(AgentProtocolError):
        for _ in range(MAX_LINE_CHARS // 1000 + 2):
            decoder.feed(b"x" * 1000)


def test_data_field_strips_exactly_one_space() -> None:
    assert data_field("data: hello") == "hello"
    assert data_field("data:  world") == " world"
    assert data_field("data:tight") == "tight"
    assert data_field("event: ping") is None
    assert data_field(": keep-alive") is None


@pytest.mark.parametrize(
    ("wire", "text"),
    [
        (r"line\nnext", "line\nnext"),
        (r"a\tb\rc", "a\tb\rc"),
        (r"say \"hi\" and \'bye\'", "say \"hi\" and 'bye'"),
        (r"back\\slash", "back\\slash"),
        (r"\u00e9t\u00E9", "été"),
        (r"\ud83d\ude00", "😀"),
        (r"lone \ud83d", "lone \ufffd"),
        ("&quot;q&quot; &apos;a&apos; &lt;b&gt; &amp;", "\"q\" 'a' <b> &"),
        (r"\\n stays a backslash and n", "\\n stays a backslash and n"),
        ("&amp;lt; is not unescaped twice", "&lt; is not unescaped twice"),
        (r"\x unknown escapes stay", r"\x unknown escapes stay"),
        ("plain", "plain"),
    ],
)
def test_unescape(wire: str, text: str) -> None:
    assert unescape(wire) == text


def test_parse_line_events() -> None:
    assert parse_line("data:  Hello") == Token(" Hello")
    assert parse_line(r"data: a\nb") == Token("a\nb")
    assert parse_line("data: [DONE]") == Done()
    assert parse_line("data: [ERROR] quota exceeded") == Failed("quota exceeded")
    assert parse_line("data: [ERROR]") == Failed(
        ""
    )  # no words: the error says "unspecified error" (core/agents/lyzr.py)
    assert parse_line("") is None
    assert parse_line("id: 7") is None


def test_openai_chunks() -> None:
    line = 'data: {"choices":[{"delta":{"content":" hi"},"finish_reason":null}]}'
    assert parse_chunk_line(line) == Delta(text=" hi")
    line = 'data: {"choices":[{"delta":{"reasoning_content":"hmm"}}]}'
    assert parse_chunk_line(line) == Delta(reasoning="hmm")
    line = 'data: {"choices":[{"delta":{},"finish_reason":"length"}]}'
    assert parse_chunk_line(line) == Delta(finish_reason="length")
    assert parse_chunk_line('data: {"choices":[]}') == Delta()
    assert parse_chunk_line("data: [DONE]") == Finished()
    assert parse_chunk_line("") is None
    with pytest.raises(AgentServerError, match="overloaded"):
        parse_chunk_line('data: {"error":{"message":"overloaded"}}')
    with pytest.raises(AgentProtocolError):
        parse_chunk_line("data: {not json")


@pytest.mark.parametrize(
    "chunk",
    ['{"choices":[{"delta":"text"}]}', '{"choices":[{"delta":[1]}]}', '{"choices":{"0":{}}}'],
)
def test_a_chunk_of_the_wrong_shape_is_a_protocol_error(chunk: str) -> None:
    """A ``delta`` or ``choices`` of another type than the API's object / array is the agent
    breaking the protocol: a clear error (it used to be an ``AttributeError``), on the
    per-event path and the one-pass path alike."""
    with pytest.raises(AgentProtocolError, match="unexpected stream chunk"):
        parse_chunk_line(f"data: {chunk}")
    deltas, end = parse_lines([f"data: {chunk}", ""], EventDecoder())
    assert deltas == []
    assert isinstance(end, AgentProtocolError)
    assert "unexpected stream chunk" in str(end)


def test_openai_error_only_when_set() -> None:
    # openai-python (src/openai/_streaming.py, _raise_streaming_error) raises only for an
    # ``error`` that is set: a chunk carrying ``"error": null`` is an ordinary chunk.
    line = 'data: {"choices":[{"delta":{"content":"ok"}}],"error":null}'
    assert parse_chunk_line(line) == Delta(text="ok")


def run_think(tokens: list[str]) -> tuple[str, str]:
    think = ThinkFilter()
    visible, reasoning = [], []
    for token in tokens:
        v, r = think.feed(token)
        visible.append(v)
        reasoning.append(r)
    v, r = think.flush()
    return "".join(visible) + v, "".join(reasoning) + r


REPLY = "<think>plan the answer</think>\n\nThe answer is 42."


def test_think_block_is_removed_at_every_split() -> None:
    assert run_think([REPLY]) == ("The answer is 42.", "plan the answer")
    for cut in range(1, len(REPLY)):
        assert run_think([REPLY[:cut], REPLY[cut:]]) == ("The answer is 42.", "plan the answer")
    assert run_think(list(REPLY)) == ("The answer is 42.", "plan the answer")


def test_think_mentioned_later_is_kept() -> None:
    text = "Use the <think> tag like this: <think>x</think>."
    assert run_think(list(text)) == (text, "")


def test_unfinished_tag_and_unclosed_block() -> None:
    assert run_think(["Hi <thi"]) == ("Hi <thi", "")
    assert run_think(["<thi"]) == ("<thi", "")
    assert run_think(["<think>still thinking"]) == ("", "still thinking")


def test_text_without_think_passes_unchanged() -> None:
    text = "  leading spaces\n\nand paragraphs"
    assert run_think([text[:3], text[3:]]) == (text, "")


def events_of(lines: list[str]) -> list[SseEvent]:
    decoder = EventDecoder()
    found = [decoder.feed(line) for line in lines] + [decoder.flush()]
    return [event for event in found if event is not None]


def test_sse_events_are_framed_by_blank_lines() -> None:
    lines = [": keep-alive", "data: {", 'data:  "a": 1', "data: }", "", "", "event: error",
             'data: {"message": "quota"}', "", "data: [DONE]"]  # fmt: skip
    first, error, done = events_of(lines)
    assert first == SseEvent(("{", ' "a": 1', "}")) and first.data == '{\n "a": 1\n}'
    assert error.name == "error"
    assert done.data == "[DONE]"  # kept although the body ended without a blank line
    with pytest.raises(AgentServerError, match="quota"):
        parse_event(error)
    assert parse_event(done) == [Finished()]


def test_openai_chunks_without_blank_lines_between_them_still_read() -> None:
    chunk = '{"choices":[{"delta":{"content":"%s"}}]}'
    (event,) = events_of([f"data: {chunk % 'a'}", f"data: {chunk % 'b'}", "data: [DONE]"])
    assert parse_event(event) == [Delta(text="a"), Delta(text="b"), Finished()]


def _chunk(delta: dict[str, object], **choice: object) -> str:
    return "data: " + json.dumps({"choices": [{"delta": delta, **choice}]})


STREAM_LINES = [
    ": keep-alive", "", _chunk({"content": "a"}), "", _chunk({"content": "b"}), "",
    "data:", "", _chunk({"content": ""}), "", _chunk({"content": 7}), "",
    _chunk({"content": "c", "reasoning_content": "why"}), "", _chunk({"content": "d"}), "",
    _chunk({"reasoning": "hmm"}), "", _chunk({}, finish_reason=""), "",
    _chunk({"content": "e"}, finish_reason=""), "", _chunk({"content": "f"}), "",
    'data: {"choices": []}', "", 'data: {"choices": "x"}', "", 'data: {"error": null}', "",
    'data:  {"choices": [{"delta": {"content": "g"}}]}', "", "data: {", 'data: "x": 1}', "",
    'data: {"choices": [{"delta": {"content": NaN}}]}', "", "event: ping",
    _chunk({"content": "h"}), "", "data:" + _chunk({"content": "i"})[5:] + "\r", "\r",
    _chunk({"content": "j"}), _chunk({"content": "k"}), "", _chunk({"content": "\ud83d"}),
    "", _chunk({"content": "l"}), "",
]  # fmt: skip
"""Every kind of line and chunk :func:`parse_lines` meets; each stream below ends one way."""

ENDINGS = [
    ["data: [DONE]", "", _chunk({"content": "after"}), ""],
    ['data: {"error": {"message": "overloaded"}}', ""],
    ["event: error", 'data: {"message": "quota"}', ""],
    ["event: error", "data: not json", ""],
    ["data: {not json", ""],
    ["data: [1, 2]", ""],
    [_chunk({"content": "m"})],  # the body ends before the blank line
]


def reference_items(blocks: list[list[str]]) -> list[object]:
    """What the per-event path makes of the same reads (feed, parse_event, filter, join)."""
    events = EventDecoder()
    out: list[object] = []
    for lines in blocks:
        held: Delta | None = None
        try:
            for line in lines:
                event = events.feed(line)
                if event is None:
                    continue
                for item in parse_event(event):
                    if isinstance(item, Finished):
                        return [*out, *([held] if held else []), item]
                    if not (item.text or item.reasoning or item.finish_reason):
                        continue
                    if held is None:
                        held = item
                    elif (
                        held.finish_reason is None
                        and not held.reasoning
                        and (item.finish_reason is None and not item.reasoning)
                    ):
                        held.text += item.text
                    else:
                        out.append(held)
                        held = item
        except AgentError as exc:
            return [*out, *([held] if held else []), repr(exc)]
        if held is not None:
            out.append(held)
    return [*out, "open" if not events.idle() else "idle"]


def block_items(blocks: list[list[str]]) -> list[object]:
    events = EventDecoder()
    out: list[object] = []
    for lines in blocks:
        deltas, end = parse_lines(lines, events)
        out += deltas
        if isinstance(end, AgentError):
            return [*out, repr(end)]
        if end is not None:
            return [*out, end]
    return [*out, "open" if not events.idle() else "idle"]


@pytest.mark.parametrize("ending", ENDINGS)
def test_block_parse_reads_every_split_of_reads_as_the_per_event_path(
    ending: list[str],
) -> None:
    lines = STREAM_LINES + ending
    whole = block_items([lines])
    assert whole == reference_items([lines])
    assert Delta(text="ab") in whole and Delta(reasoning="hmm") in whole  # text joined per read
    for cut in range(1, len(lines)):
        blocks = [lines[:cut], lines[cut:]]
        assert block_items(blocks) == reference_items(blocks), cut
    one_by_one = [[line] for line in lines]
    assert block_items(one_by_one) == reference_items(one_by_one)
