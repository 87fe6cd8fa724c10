"""The ids of a gateway event checked before discord.py reads them.

Discord's ids are snowflakes: 64-bit unsigned integers, sent as strings of decimal digits
("Because Snowflake IDs are up to 64 bits in size (e.g. a uint64), they are always returned
as strings", discord-api-docs, Reference → Snowflakes; Discord never issues 0). discord.py
reads them with ``int()``, which also takes ``"-5"``, ``"1_000"``, ``" 7 "``, other
scripts' digits and numbers of any size: such an id would name a conversation in Redis, a
REST path and a turn the agent is asked about. As the Slack bot does with
:func:`core.inbound.valid_id`, the events that start turns and commands are checked at the
boundary, and one whose ids are not snowflakes is dropped (see
:mod:`bots.discord.gateway_guard`).
"""

from __future__ import annotations

import re
from typing import Any

from core.inbound import valid_id

__all__ = ["CHECKED_IDS", "invalid_snowflakes", "is_snowflake"]

_DIGITS = re.compile(r"[0-9]{1,20}")
_MAX = 2**64

# Where each checked event carries ids the bot uses (dotted paths; ``*`` is every item of a
# list). Other ids are discord.py's business: a missing or non-numeric one fails its parser.
CHECKED_IDS: dict[str, tuple[str, ...]] = {
    "MESSAGE_CREATE": (
        "id", "channel_id", "guild_id", "author.id", "webhook_id", "member.roles.*",
    ),
    "INTERACTION_CREATE": (
        "id", "application_id", "channel_id", "guild_id", "user.id", "member.user.id",
        "member.roles.*", "message.id",
    ),
}  # fmt: skip


def is_snowflake(value: object) -> bool:
    """Whether ``value`` is a snowflake as Discord sends it (a digit string, or an int)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return 0 < value < _MAX
    if not (valid_id(value) and isinstance(value, str) and _DIGITS.fullmatch(value)):
        return False
    return 0 < int(value) < _MAX


def invalid_snowflakes(event: str, data: Any) -> list[str]:
    """The paths of ``event``'s ids in ``data`` that are present but not snowflakes."""
    if not isinstance(data, dict):
        return []  # not an object at all: discord.py's parser fails on it, and is guarded
    return [path for path in CHECKED_IDS.get(event, ()) if not _all_valid(data, path)]


def _all_valid(data: dict[str, Any], path: str) -> bool:
    values: list[Any] = [data]
    for step in path.split("."):
        found: list[Any] = []
        for value in values:
            if step == "*":
                found.extend(value if isinstance(value, list) else [value])
            elif isinstance(value, dict) and value.get(step) is not None:
                found.append(value[step])
        values = found
    return all(is_snowflake(value) for value in values)
