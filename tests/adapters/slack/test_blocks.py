"""Message payloads: sections, the Stop button, structured output (pure functions)."""

from __future__ import annotations

from pydantic import BaseModel, create_model

from adapters.slack.blocks import (
    STOP_ACTION_ID,
    feedback_controls,
    mrkdwn_sections,
    payload,
    structured_blocks,
    with_feedback,
)


def _balanced(part: str) -> bool:
    return sum(line == "```" for line in part.split("\n")) % 2 == 0


def test_short_text_is_one_section() -> None:
    assert mrkdwn_sections("hello") == ["hello"]


def test_split_at_lines_reopening_code() -> None:
    text = "\n".join(["prose"] * 10 + ["```"] + [f"code {i}" for i in range(40)] + ["```", "end"])
    parts = mrkdwn_sections(text, limit=120)
    assert len(parts) > 2
    assert all(len(p) <= 120 and _balanced(p) for p in parts)
    body = [line for p in parts for line in p.split("\n") if line != "```"]
    assert body == [line for line in text.split("\n") if line != "```"]


def test_a_split_just_before_the_closing_fence_adds_no_empty_block() -> None:
    text = "```\n" + "a" * 50 + "\n```\nafter the code"
    parts = mrkdwn_sections(text, limit=64)
    assert parts == ["```\n" + "a" * 50 + "\n```", "after the code"]


def test_a_line_longer_than_a_section_is_cut() -> None:
    parts = mrkdwn_sections("x" * 250, limit=100)
    assert all(len(p) <= 100 for p in parts) and "".join(parts) == "x" * 250


def test_payloads() -> None:
    final = payload("t", "mrkdwn", controls=False, thread="1.0", update=True)
    assert final == {"text": "t", "blocks": []}
    assert payload("t", "mrkdwn", controls=False, thread=None, update=False) == {"text": "t"}
    live = payload("t", "mrkdwn", controls=True, thread="1.0", update=False)
    button = live["blocks"][-1]["elements"][0]
    assert button["action_id"] == STOP_ACTION_ID and button["value"] == "1.0"
    markdown = payload("**t**", "markdown", controls=False, thread=None, update=True)
    # The block renders the Markdown; the notification text is its mrkdwn form.
    assert markdown == {"text": "*t*", "blocks": [{"type": "markdown", "text": "**t**"}]}


def test_plain_and_feedback_payloads() -> None:
    """Plain text (Slack refused the reply's blocks) carries neither control, Markdown as
    its mrkdwn form; feedback puts 👍 / 👎 under a final text instead of the Stop button."""
    for dialect in ("mrkdwn", "markdown"):
        plain = payload("**t**", dialect, controls=True, thread="1.0", update=True, plain=True,
                        feedback=True)  # fmt: skip
        text = "*t*" if dialect == "markdown" else "**t**"
        assert plain == {"text": text, "blocks": []}
        posted = payload("t", dialect, controls=True, thread="1.0", update=False, plain=True)
        assert posted == {"text": "t"}
        rated = payload("t", dialect, controls=True, thread="1.0", update=True, feedback=True)
        assert rated == with_feedback("t", dialect)
        assert rated["blocks"][-1] == feedback_controls()


def test_structured_blocks_limits() -> None:
    many = create_model("Many", **{f"f{i}": (int, i) for i in range(600)})  # type: ignore[call-overload]
    assert structured_blocks(many()) is None  # > 50 blocks: the caller posts text

    class Empty(BaseModel):
        pass

    assert structured_blocks(Empty()) is None
