"""JSON of a streamed chunk, decoded by orjson: the OpenAI wire format is one JSON object
per chunk, 20 per second per reply, and ``json.loads`` was the largest single cost of
parsing one (about 2.5 of the ~7 µs; orjson takes about a quarter of that: tests/bench/README.md,
"CPU per streamed reply").

What the standard library accepts and orjson refuses (``NaN``, a lone surrogate escape such
as half an emoji) is decoded by ``json.loads`` instead, so the text read and the errors
raised are the standard library's. One difference is left: orjson reads an integer past 64
bits as a float; the agents read no number from a chunk.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

__all__ = ["loads"]


def loads(text: str) -> Any:
    """``json.loads(text)``, faster; raises ``ValueError`` as it does."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
