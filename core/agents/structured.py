"""Structured output: the reply's text is JSON for a pydantic model.

Nothing in either wire format marks structured output, so the joined reply text is parsed
on the final chunk. Models like to wrap JSON in a Markdown fence or add a sentence around
it; both are tolerated. A failure is reported, never raised: the text is still a reply.
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, ValidationError

__all__ = ["parse_structured", "schema_instruction"]

_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\n(.*?)\n?```", re.DOTALL)


def parse_structured(text: str, model: type[BaseModel]) -> tuple[BaseModel | None, str | None]:
    """``(instance, None)`` on success, ``(None, reason)`` when the text does not fit."""
    first_error = ""
    for candidate in _candidates(text):
        try:
            return model.model_validate_json(candidate), None
        except ValidationError as exc:
            first_error = first_error or _summary(exc)
    return None, first_error or "the reply contains no JSON object"


def _candidates(text: str) -> list[str]:
    stripped = text.strip()
    found = [stripped] if stripped else []
    fenced = _FENCE.search(text)
    if fenced:
        found.append(fenced.group(1).strip())
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        found.append(text[start : end + 1])
    return list(dict.fromkeys(found))  # in order, without repeats


def _summary(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "reply"
    return f"{where}: {first['msg']} ({exc.error_count()} error(s))"


def schema_instruction(model: type[BaseModel]) -> str:
    """A prompt sentence asking for JSON that fits ``model`` (it must say "JSON")."""
    schema = json.dumps(model.model_json_schema(), separators=(",", ":"))
    return (
        "Answer with one JSON object only, no prose and no Markdown fence, "
        f"that validates against this JSON schema: {schema}"
    )
