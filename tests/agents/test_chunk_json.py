"""The chunks' JSON decoder reads what the standard library reads, and refuses the same."""

from __future__ import annotations

import json
import math

import pytest

from core.agents.chunk_json import loads

CHUNK = (
    '{"choices":[{"index":0,"delta":{"content":"h\\u00e9llo \\ud83d\\ude00"},'
    '"finish_reason":null}]}'
)


def test_a_chunk_reads_as_the_standard_library_reads_it() -> None:
    assert loads(CHUNK) == json.loads(CHUNK)


@pytest.mark.parametrize(
    "text",
    [
        '{"content": "\\ud83d"}',  # half an emoji: a lone surrogate escape
        '{"logprob": NaN}',
    ],
)
def test_what_only_the_standard_library_accepts_is_still_read(text: str) -> None:
    value, expected = loads(text), json.loads(text)
    if text.endswith("NaN}"):
        assert math.isnan(value["logprob"]) and math.isnan(expected["logprob"])
    else:
        assert value == expected


@pytest.mark.parametrize("text", ["", "{", "data: {}", '{"a": 1} trailing'])
def test_what_is_not_json_raises_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        loads(text)
