"""The optional "why?" after a 👎: a modal opened from the click, its answer stored with
the vote.

The click's ``trigger_id`` lives 3 seconds (docs.slack.dev interactivity/
handling-user-interaction), so the modal is opened first, before the vote is recorded. The
modal carries the reply it is about in ``private_metadata`` (JSON: team, channel,
thread, message) and the click that opened it (``click``, an id the bot draws: the 👎 is
stored under it, so a reason given after that 👎 was taken back is told apart from one
that beat it to Redis; :meth:`core.feedback.service.Feedback.reason`); its submission
(``view_submission``, callback ``threadcast_reason``) is acknowledged at once and the
reason stored in the background.
"""

from __future__ import annotations

import json
from typing import Any

from core.feedback.model import REASON_MAX_CHARS
from core.texts import (
    REASON_HINT,
    REASON_LABEL,
    REASON_SKIP,
    REASON_SUBMIT,
    REASON_TITLE,
)

__all__ = ["REASON_ACTION", "REASON_BLOCK", "REASON_CALLBACK", "read_submission", "reason_modal"]

REASON_CALLBACK = "threadcast_reason"
REASON_BLOCK = "reason"
REASON_ACTION = "reason_text"


def reason_modal(
    team: str, channel: str, thread: str | None, message: str, click: str
) -> dict[str, Any]:
    def plain(text: str) -> dict[str, Any]:
        return {"type": "plain_text", "text": text}

    return {
        "type": "modal",
        "callback_id": REASON_CALLBACK,
        "title": plain(REASON_TITLE),
        "submit": plain(REASON_SUBMIT),
        "close": plain(REASON_SKIP),
        "private_metadata": json.dumps(
            {"team": team, "channel": channel, "thread": thread, "message": message, "click": click}
        ),
        "blocks": [
            {
                "type": "input",
                "block_id": REASON_BLOCK,
                "optional": True,
                "label": plain(REASON_LABEL),
                "element": {
                    "type": "plain_text_input",
                    "action_id": REASON_ACTION,
                    "multiline": True,
                    "max_length": REASON_MAX_CHARS,
                    "placeholder": plain(REASON_HINT),
                },
            }
        ],
    }


def read_submission(body: dict[str, Any]) -> tuple[dict[str, Any], str] | None:
    """(the reply's metadata, the reason) of a submitted modal; None when unreadable or
    left empty."""
    view = body.get("view") or {}
    try:
        about = json.loads(view.get("private_metadata") or "")
    except ValueError:
        return None
    values = ((view.get("state") or {}).get("values") or {}).get(REASON_BLOCK) or {}
    reason = (values.get(REASON_ACTION) or {}).get("value")
    if not isinstance(about, dict) or not isinstance(reason, str) or not reason.strip():
        return None
    return about, reason
