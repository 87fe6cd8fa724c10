"""A turn's context in each backend's shape (pure functions).

- OpenAI-compatible: the earlier messages become chat messages before the user's (user /
  assistant roles, the author in ``name`` and in the text), images become ``image_url``
  content parts (``data:`` URLs), text files are inlined with their names.
- Lyzr (its memory is server-side, keyed by session): one clearly delimited block before
  the message, only on the turn that has context; files travel as assets
  (:meth:`~core.agents.lyzr.LyzrAgent`), text files inlined in the block.
- What a history store keeps of a turn: :func:`remembered` (text only: the block, the
  message, images named).
"""

from __future__ import annotations

import base64
import re
from typing import Any

from core.context.models import EarlierMessage, TurnContext

__all__ = [
    "context_block",
    "openai_context_messages",
    "openai_user_content",
    "remembered",
]

_NAME = re.compile(r"[^A-Za-z0-9_-]+")
BLOCK_START = "[Thread context: earlier messages, oldest first]"
BLOCK_END = "[End of thread context]"


def openai_context_messages(context: TurnContext | None) -> list[dict[str, Any]]:
    """The earlier messages as chat messages, oldest first (and the "left out" line)."""
    if not context:
        return []
    found: list[dict[str, Any]] = []
    line = context.left_out_line()
    if line:
        found.append({"role": "user", "content": line})
    found += [_chat_message(m) for m in context.messages]
    return found


def _chat_message(message: EarlierMessage) -> dict[str, Any]:
    if message.from_bot:
        return {"role": "assistant", "content": message.body()}
    entry: dict[str, Any] = {"role": "user", "content": f"{message.author}: {message.body()}"}
    # OpenAI's ``name`` allows ^[a-zA-Z0-9_-]{1,64}$; the text keeps the real display name.
    name = _NAME.sub("_", message.author).strip("_")[:64]
    if name:
        entry["name"] = name
    return entry


def openai_user_content(text: str, context: TurnContext | None) -> str | list[dict[str, Any]]:
    """The user's message: plain text, or text and image parts when images came along."""
    if not context or not context.files:
        return text
    inlined = context.files_text()
    body = f"{text}\n\n{inlined}" if inlined else text
    images = [f for f in context.files if f.kind == "image"]
    if not images:
        return body
    parts: list[dict[str, Any]] = [{"type": "text", "text": body}]
    for image in images:
        data = base64.b64encode(image.data).decode("ascii")
        parts.append(
            {"type": "image_url", "image_url": {"url": f"data:{image.mimetype};base64,{data}"}}
        )
    return parts


def context_block(context: TurnContext | None) -> str:
    """The Lyzr block: earlier messages and inlined text files, clearly delimited."""
    if not context:
        return ""
    parts = []
    transcript = context.transcript()
    if transcript:
        parts.append(f"{BLOCK_START}\n{transcript}\n{BLOCK_END}")
    texts = [f for f in context.files if f.kind == "text"]
    if texts:
        parts.append(TurnContext(files=tuple(texts)).files_text())
    return "\n\n".join(parts)


def remembered(text: str, context: TurnContext | None) -> str:
    """What a history keeps of the user's turn: the context as text, then the message."""
    if not context:
        return text
    block = context_block(context)
    others = [f"(attached {f.kind}: {f.name})" for f in context.files if f.kind != "text"]
    return "\n\n".join(p for p in (block, text, " ".join(others)) if p)
