"""``@name`` typed in the page's composer becomes the platform's mention markup.

Both Slack (``<@U123>``) and Discord (``<@123>``) send a mention as the user's id in angle
brackets (Slack: docs.slack.dev "Formatting text for app surfaces" > mentioning users;
Discord: discord-api-docs Reference > Message Formatting), which is what the bots look for.
Names the directory does not know are left as typed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["encode_mentions"]

_MENTION = re.compile(r"(?<![\w<])@([A-Za-z][\w.-]*)")


def encode_mentions(text: str, ids_by_name: Mapping[str, str]) -> str:
    """Replace every ``@name`` of a known person or bot (any case) with ``<@id>``."""
    known = {name.lower(): user_id for name, user_id in ids_by_name.items()}

    def replace(match: re.Match[str]) -> str:
        user_id = known.get(match.group(1).lower())
        return f"<@{user_id}>" if user_id is not None else match.group(0)

    return _MENTION.sub(replace, text)
