"""Discord's limits on a message body, with the errors Discord gives when they are broken.

Limits (discord-api-docs, Message > Create Message; Embed Limits): content ≤ 2,000 chars;
≤ 10 embeds, description ≤ 4,096, title ≤ 256, ≤ 25 fields (name ≤ 256, value ≤ 1,024,
neither blank), footer ≤ 2,048, author name ≤ 256, all embeds together ≤ 6,000 chars; ≤ 10
files; the components' rules (``components``: ≤ 5 rows of ≤ 5 buttons, labels, custom
ids); a new message needs content, an embed, a file, components or stickers.
File sizes are checked while the upload is read (``bodies``).
"""

from __future__ import annotations

from typing import Any

from .components import validate_message_components
from .config import SimulatorConfig
from .errors import empty_message, invalid_form

__all__ = ["embed_length", "validate_message"]


def _check_len(value: Any, limit: int, path: str) -> int:
    text = value if isinstance(value, str) else ""
    if len(text) > limit:
        raise invalid_form(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    return len(text)


def embed_length(embed: dict[str, Any]) -> int:
    """Characters an embed counts against the 6,000 total."""
    total = len(embed.get("title") or "") + len(embed.get("description") or "")
    total += len((embed.get("footer") or {}).get("text") or "")
    total += len((embed.get("author") or {}).get("name") or "")
    for item in embed.get("fields") or []:
        total += len(item.get("name") or "") + len(item.get("value") or "")
    return total


def _check_embed(embed: dict[str, Any], index: int, config: SimulatorConfig) -> None:
    at = f"embeds.{index}"
    _check_len(embed.get("title"), 256, f"{at}.title")
    _check_len(embed.get("description"), config.max_embed_description, f"{at}.description")
    _check_len((embed.get("footer") or {}).get("text"), 2048, f"{at}.footer.text")
    _check_len((embed.get("author") or {}).get("name"), 256, f"{at}.author.name")
    fields = embed.get("fields") or []
    if len(fields) > 25:
        raise invalid_form(f"{at}.fields", "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    for n, item in enumerate(fields):
        for key, limit in (("name", 256), ("value", 1024)):
            _check_required(item.get(key), f"{at}.fields.{n}.{key}")
            _check_len(item.get(key), limit, f"{at}.fields.{n}.{key}")


def _check_required(value: Any, path: str) -> None:
    """An embed field's name and value are required (discord-api-docs, Resources > Message,
    Embed Field Structure: neither is optional) and blank counts as missing: "If I put in
    value='' or value=' ' I always get ... BAD REQUEST" (discord.py issue #643); Discord's
    answer, as bots log it: "In embeds.0.fields.0.value: This field is required"."""
    if not isinstance(value, str) or not value.strip():
        raise invalid_form(path, "BASE_TYPE_REQUIRED", "This field is required")


def validate_message(
    payload: dict[str, Any],
    file_count: int,
    config: SimulatorConfig,
    *,
    creating: bool,
) -> None:
    """Raise ``ApiError`` as Discord would for a create (or, with ``creating=False``, edit)."""
    content = payload.get("content")
    if content is not None and not isinstance(content, str):
        raise invalid_form("content", "BASE_TYPE_STRING", "Must be a string.")
    _check_len(content, config.max_content, "content")

    embeds = payload.get("embeds") or []
    if len(embeds) > config.max_embeds:
        limit = config.max_embeds
        raise invalid_form("embeds", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
    for index, embed in enumerate(embeds):
        _check_embed(embed, index, config)
    if sum(embed_length(e) for e in embeds) > config.max_embeds_total:
        limit = config.max_embeds_total
        raise invalid_form(
            "embeds", "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {limit}"
        )

    if file_count > config.max_files:
        limit = config.max_files
        raise invalid_form(
            "attachments", "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
        )
    validate_message_components(payload.get("components"))

    has_body = bool(
        content or embeds or file_count or payload.get("components") or payload.get("sticker_ids")
    )
    if creating and not has_body and not payload.get("poll"):
        raise empty_message()
