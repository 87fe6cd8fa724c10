"""Deterministic example data for a pydantic model, built from its JSON schema.

The demo agent answers a ``response_format`` request with this, so structured output can
be shown without a model. Values are derived from field names and descriptions; simple
constraints (bounds, lengths, enums, defaults) are respected.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["sample_data"]

_MAX_DEPTH = 6


def sample_data(model: type[BaseModel]) -> dict[str, Any]:
    """JSON-ready data that should validate as ``model``."""
    schema = model.model_json_schema()
    value = _sample(schema, schema.get("$defs", {}), "value", 0)
    return value if isinstance(value, dict) else {}


def _sample(schema: dict[str, Any], defs: dict[str, Any], name: str, depth: int) -> Any:
    if "$ref" in schema:
        target = defs.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return _sample(target, defs, name, depth + 1) if depth < _MAX_DEPTH else {}
    if "default" in schema:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [o for o in schema.get(key, []) if o.get("type") != "null"]
        if options:
            return _sample(options[0], defs, name, depth)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    label = str(schema.get("description") or schema.get("title") or name)
    if kind == "object" or "properties" in schema:
        if depth >= _MAX_DEPTH:
            return {}
        return {
            key: _sample(sub, defs, key, depth + 1)
            for key, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        count = max(3, int(schema.get("minItems", 0)))
        count = min(count, int(schema.get("maxItems", count)))
        item = schema.get("items", {})
        singular = name.removesuffix("s")
        return [_sample(item, defs, f"{singular} {i + 1}", depth + 1) for i in range(count)]
    if kind == "integer":
        return int(_number(schema, 42))
    if kind == "number":
        return _number(schema, 4.2)
    if kind == "boolean":
        return True
    if kind == "string":
        return _string(schema, label)
    if kind == "null":
        return None
    return _string({}, label)


def _number(schema: dict[str, Any], preferred: float) -> float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    value = preferred
    if low is not None and value <= low:
        value = low + 1
    if high is not None and value >= high:
        value = high - 1 if low is None or high - 1 > low else (low + high) / 2
    return value


_FORMATS = {
    "date-time": "2024-01-02T03:04:05Z",
    "date": "2024-01-02",
    "time": "03:04:05",
    "duration": "PT1H",
    "email": "demo@example.com",
    "uri": "https://example.com/demo",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "192.0.2.1",
}


def _string(schema: dict[str, Any], label: str) -> str:
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    text = f"Demo {label[:1].lower()}{label[1:]}"
    low = int(schema.get("minLength", 0))
    high = schema.get("maxLength")
    if len(text) < low:
        text = text.ljust(low, ".")
    if high is not None:
        text = text[: int(high)]
    return text
