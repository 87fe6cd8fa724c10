"""Block Kit checks Slack applies before accepting a message (``invalid_blocks``).

Only the limits a streaming bot can run into are checked: at most 50 blocks, section and
context text at most 3,000 characters, header text at most 150, and ``markdown`` blocks.

``markdown`` block (docs.slack.dev reference/block-kit/blocks/markdown-block): ``text`` is
required, standard Markdown; "the cumulative limit for all markdown blocks in a single
payload is 12,000 characters"; "the block_id is ignored in markdown blocks and will not be
retained". Past the limit Slack answers ``msg_blocks_too_long`` (the error it gives for
block text over its budget, slackapi/bolt-js#2509). Slack translates the block into blocks
of its own; the simulator keeps the block as sent (tests read its text). Any other
well-formed block is accepted as is.

``context_actions`` block (docs.slack.dev reference/block-kit/blocks/context-actions-block):
``elements`` required, "an array of feedback buttons elements and icon button elements.
Maximum number of items is 5". ``feedback_buttons`` element (reference/block-kit/
block-elements/feedback-buttons-element): ``positive_button`` and ``negative_button``
required, each with a ``plain_text`` ``text`` of at most 75 characters and a ``value`` of
at most 2,000; ``action_id`` at most 255.
"""

from __future__ import annotations

from typing import Any

from bots.simulators.slack.config import SimConfig
from bots.simulators.slack.errors import ApiError

__all__ = ["find_action", "validate_blocks"]

MAX_HEADER_TEXT = 150


def validate_blocks(blocks: Any, config: SimConfig) -> list[dict[str, Any]] | None:
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise ApiError("invalid_blocks_format")
    if len(blocks) > config.max_blocks:
        raise ApiError("invalid_blocks", detail=f"no more than {config.max_blocks} items allowed")
    markdown_total = 0
    for index, block in enumerate(blocks):
        kind = block.get("type")
        if not isinstance(kind, str):
            raise ApiError("invalid_blocks", detail=f"block {index} has no type")
        if kind == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text:
                raise ApiError("invalid_blocks", detail=f"block {index}: text is required")
            markdown_total += len(text)
            block.pop("block_id", None)  # ignored and not retained
        elif kind == "section":
            _check_text(block.get("text"), config.max_section_text, index)
            for item in block.get("fields") or []:
                _check_text(item, 2_000, index)
        elif kind == "header":
            _check_text(block.get("text"), MAX_HEADER_TEXT, index)
        elif kind == "context_actions":
            _check_context_actions(block, index)
        elif kind == "context":
            for element in block.get("elements") or []:
                _check_text(element, config.max_section_text, index)
    if markdown_total > config.max_markdown:
        raise ApiError("msg_blocks_too_long")
    return blocks


def _check_context_actions(block: dict[str, Any], index: int) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 5:
        raise ApiError("invalid_blocks", detail=f"block {index}: 1 to 5 elements required")
    for element in elements:
        kind = element.get("type") if isinstance(element, dict) else None
        if kind == "icon_button":
            continue
        if kind != "feedback_buttons":
            raise ApiError("invalid_blocks", detail=f"block {index}: {kind!r} not allowed")
        if len(str(element.get("action_id", ""))) > 255:
            raise ApiError("invalid_blocks", detail=f"block {index}: action_id too long")
        for side in ("positive_button", "negative_button"):
            button = element.get(side)
            text = button.get("text") if isinstance(button, dict) else None
            value = button.get("value") if isinstance(button, dict) else None
            if not (isinstance(text, dict) and text.get("type") == "plain_text"
                    and 0 < len(str(text.get("text", ""))) <= 75):  # fmt: skip
                raise ApiError("invalid_blocks", detail=f"block {index}: {side}.text invalid")
            if not isinstance(value, str) or not 0 < len(value) <= 2_000:
                raise ApiError("invalid_blocks", detail=f"block {index}: {side}.value invalid")


def _check_text(obj: Any, limit: int, index: int) -> None:
    if isinstance(obj, dict) and len(str(obj.get("text", ""))) > limit:
        raise ApiError("invalid_blocks", detail=f"block {index}: text must be <= {limit} chars")


def find_action(blocks: list[dict[str, Any]] | None, action_id: str) -> dict[str, Any] | None:
    """The interactive element (button...) with ``action_id``, and its ``block_id``."""
    for block in blocks or []:
        elements = list(block.get("elements") or [])
        if isinstance(block.get("accessory"), dict):
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {**element, "block_id": block.get("block_id", "")}
    return None
