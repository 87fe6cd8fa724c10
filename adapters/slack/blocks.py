"""The payloads of the bot's messages: text, Block Kit sections, the Stop button (pure).

With ``blocks``, Slack shows the blocks and uses ``text`` only for notifications, so a
message that carries the Stop button must carry its text in blocks too:

- mrkdwn (edit mode): section blocks of at most 3,000 characters; a 4,000-character page is
  split at a line boundary, and a code block cut by the split is closed at the end of one
  section and reopened at the start of the next, so both render as code;
- Markdown (``SLACK_RENDER=markdown``, the default, and native streaming's fallbacks): one
  ``markdown`` block (all markdown blocks of a payload share 12,000 characters), which Slack
  renders itself: headings, tables, lists, code. It stays on the final message; ``text``
  (notifications, and clients that cannot show the block) is the page in mrkdwn.

In mrkdwn, once the reply is final the blocks are removed (``blocks=[]``) and ``text`` shows
the page: Slack renders a plain ``text`` of up to 4,000 characters as one piece, fences and all.
Structured output becomes a header and section fields (:func:`structured_blocks`).

Feedback (:func:`feedback_controls`): a completed reply's last message gets a
``context_actions`` block holding a ``feedback_buttons`` element (👍 value ``up``, 👎
``down``), after its text, which then sits in blocks in either dialect
(docs.slack.dev reference/block-kit/blocks/context-actions-block and
block-elements/feedback-buttons-element).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel

from adapters.slack.inline import escape
from adapters.slack.mrkdwn import to_mrkdwn
from core.texts import DOWN_LABEL, STOP_LABEL, UP_LABEL

__all__ = [
    "FEEDBACK_ACTION_ID",
    "MAX_BLOCKS",
    "SECTION_LIMIT",
    "STOP_ACTION_ID",
    "Dialect",
    "feedback_controls",
    "home_view",
    "mrkdwn_sections",
    "payload",
    "stop_controls",
    "structured_blocks",
    "with_feedback",
]

Dialect = Literal["mrkdwn", "markdown"]

STOP_ACTION_ID = "threadcast_stop"
FEEDBACK_ACTION_ID = "threadcast_feedback"
SECTION_LIMIT = 3_000
MAX_BLOCKS = 50
_FIELD_LIMIT = 2_000
_FIELDS_PER_SECTION = 10
_HEADER_LIMIT = 150
_FENCE = "```"


def stop_controls(thread: str | None) -> dict[str, Any]:
    """The actions block with the Stop button; its value names the thread it stops."""
    return {
        "type": "actions",
        "block_id": "threadcast_controls",
        "elements": [
            {
                "type": "button",
                "action_id": STOP_ACTION_ID,
                "text": {"type": "plain_text", "text": STOP_LABEL, "emoji": True},
                "value": thread or "",
                "style": "danger",
            }
        ],
    }


def feedback_controls() -> dict[str, Any]:
    """The context actions block with 👍 / 👎 (no block_id: Slack generates one per
    iteration of a message, as it asks)."""

    def button(emoji: str, value: str, label: str) -> dict[str, Any]:
        text = {"type": "plain_text", "text": emoji, "emoji": True}
        return {"text": text, "value": value, "accessibility_label": label}

    return {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION_ID,
                "positive_button": button("👍", "up", UP_LABEL),
                "negative_button": button("👎", "down", DOWN_LABEL),
            }
        ],
    }


def home_view(mrkdwn: str) -> dict[str, Any]:
    """The App Home tab: ``mrkdwn`` in sections (a Home tab is not a message: no markdown
    block there)."""
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in
                mrkdwn_sections(mrkdwn)]  # fmt: skip
    return {"type": "home", "blocks": sections}


def with_feedback(text: str, dialect: Dialect) -> dict[str, Any]:
    """The ``text``/``blocks`` of a final message that carries the feedback controls."""
    if dialect == "markdown":
        blocks = [{"type": "markdown", "text": text}]
        return {"text": to_mrkdwn(text), "blocks": [*blocks, feedback_controls()]}
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in
                mrkdwn_sections(text)]  # fmt: skip
    return {"text": text, "blocks": [*sections, feedback_controls()]}


def payload(
    text: str,
    dialect: Dialect,
    *,
    controls: bool,
    thread: str | None,
    update: bool,
    plain: bool = False,
    feedback: bool = False,
) -> dict[str, Any]:
    """The ``text``/``blocks`` arguments of a post or update showing ``text``.

    ``controls``: add the Stop button (the text then lives in blocks). ``update``: this
    replaces an existing message, whose old blocks must be removed explicitly.
    ``feedback``: a final text with 👍 / 👎 instead (:func:`with_feedback`). ``plain``: no
    blocks at all, so neither (Slack refused this reply's blocks); Markdown goes as its
    mrkdwn form, the hand-made converter being the fallback.
    """
    if plain:
        text = to_mrkdwn(text) if dialect == "markdown" else text
        return {"text": text, "blocks": []} if update else {"text": text}
    if feedback:
        return with_feedback(text, dialect)
    if dialect == "markdown":
        # A markdown block renders Markdown; `text` (the notification) is its mrkdwn form.
        blocks: list[dict[str, Any]] = [{"type": "markdown", "text": text}]
        if controls:
            blocks.append(stop_controls(thread))
        return {"text": to_mrkdwn(text), "blocks": blocks}
    if not controls:
        return {"text": text, "blocks": []} if update else {"text": text}
    sections = [{"type": "section", "text": {"type": "mrkdwn", "text": part}} for part in
                mrkdwn_sections(text)]  # fmt: skip
    return {"text": text, "blocks": [*sections, stop_controls(thread)]}


def mrkdwn_sections(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split mrkdwn into parts of at most ``limit`` characters, at line boundaries, with
    every code block that a split cuts closed and reopened (see the module docstring)."""
    if len(text) <= limit:
        return [text]
    room = limit - 2 * (len(_FENCE) + 1)  # a reopened and a closing fence line
    parts: list[str] = []
    lines: list[str] = []
    size = 0
    in_code = False  # inside a code block at the end of ``lines``
    for line in _lines(text, room):
        fence = line.strip() == _FENCE
        if lines and size + len(line) + 1 > room:
            parts.append(_close("\n".join(lines), in_code))
            if in_code and fence:  # the part's closing fence is this very line
                lines, size, in_code = [], 0, False
                continue
            lines, size = ([_FENCE], len(_FENCE)) if in_code else ([], 0)
        lines.append(line)
        size += len(line) + 1
        if fence:
            in_code = not in_code
    if lines:
        parts.append("\n".join(lines))
    return parts


def _lines(text: str, room: int) -> list[str]:
    """The lines of ``text``, any longer than ``room`` hard-cut into pieces."""
    out: list[str] = []
    for line in text.split("\n"):
        while len(line) > room:
            out.append(line[:room])
            line = line[room:]
        out.append(line)
    return out


def _close(part: str, in_code: bool) -> str:
    return f"{part}\n{_FENCE}" if in_code else part


def structured_blocks(data: BaseModel, title: str = "Result") -> list[dict[str, Any]] | None:
    """A header and the model's fields as section fields (nested values as code), or None
    when the layout would exceed Block Kit's limits (the caller posts the text instead)."""
    fields = []
    for name, value in data.model_dump(mode="json").items():
        label = escape(name.replace("_", " ").capitalize())
        if isinstance(value, dict | list):
            shown = f"```{escape(json.dumps(value, ensure_ascii=False, indent=1))}```"
        else:
            shown = escape(str(value)) if value is not None else "_none_"
        item = f"*{label}*\n{shown}"
        if len(item) > _FIELD_LIMIT:
            return None
        fields.append({"type": "mrkdwn", "text": item})
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:_HEADER_LIMIT]}}
    ]
    for start in range(0, len(fields), _FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": fields[start : start + _FIELDS_PER_SECTION]})
    if len(blocks) == 1 or len(blocks) > MAX_BLOCKS:
        return None
    return blocks
