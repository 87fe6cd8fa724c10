"""Structured output as a Discord embed: a title and one field per top-level value.

Discord refuses an embed over its limits (field name ≤ 256, value ≤ 1,024, ≤ 25 fields,
title ≤ 256, everything ≤ 6,000 characters) and a field whose name or value is empty or
blank (400 / 50035 "This field is required": discord.py issue #643, "value='' or value=' '"),
so values are cut with an ellipsis, blanks are shown as "—", and the fields that do not fit
are named in the footer. The surface posts
the text fallback when Discord refuses the embed anyway.
"""

from __future__ import annotations

import json
import re
from typing import Any

import discord
from pydantic import BaseModel

__all__ = ["EMBED_LIMITS", "EmbedLimits", "structured_embed"]


class EmbedLimits:
    title = 256
    field_name = 256
    field_value = 1024
    fields = 25
    footer = 2048
    total = 6000


EMBED_LIMITS = EmbedLimits()
# Short single-line values sit side by side (Discord shows up to three per row).
_INLINE_MAX = 40
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def structured_embed(data: BaseModel, *, colour: int = 0x5865F2) -> discord.Embed:
    """An embed showing ``data``; always within Discord's limits."""
    title = _cut(_title_of(data), EMBED_LIMITS.title)
    embed = discord.Embed(title=title, colour=colour)
    used = len(title)
    left_out: list[str] = []
    for key, value in data.model_dump(mode="json").items():
        name = _cut(_shown(key.replace("_", " ").capitalize()), EMBED_LIMITS.field_name)
        shown = _cut(_value_text(value), EMBED_LIMITS.field_value)
        # Room for the footer that names what was left out.
        fits = used + len(name) + len(shown) <= EMBED_LIMITS.total - 300
        if len(embed.fields) >= EMBED_LIMITS.fields or not fits:
            left_out.append(key)
            continue
        inline = len(shown) <= _INLINE_MAX and "\n" not in shown
        embed.add_field(name=name, value=shown, inline=inline)
        used += len(name) + len(shown)
    if left_out:
        names = ", ".join(left_out)
        embed.set_footer(text=_cut(f"Not shown: {names}", 280))
    return embed


def _title_of(data: BaseModel) -> str:
    configured = data.model_config.get("title")
    if isinstance(configured, str) and configured:
        return configured
    name = type(data).__name__
    if name in ("BaseModel", "Model", "Result", "Response"):
        return "Result"
    return _CAMEL.sub(" ", name).capitalize()


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return _shown("" if value is None else str(value))


def _shown(text: str) -> str:
    """``text``, or "—" when Discord would take it for missing (empty or blank)."""
    return text if text.strip() else "—"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
