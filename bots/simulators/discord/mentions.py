"""Who a message would ping: content mentions filtered by ``allowed_mentions``.

Discord's rules (discord-api-docs, Message > Allowed Mentions): without ``allowed_mentions``
every user, role and ``@everyone``/``@here`` in the content pings; with it, only the kinds
in ``parse`` plus the ids listed in ``users``/``roles``; ``replied_user`` decides whether a
reply pings its target's author. Tests use the result to check agent output pings nobody.
"""

from __future__ import annotations

import re
from typing import Any

from .models import Pings

__all__ = ["MentionError", "compute_pings", "mentioned_user_ids"]

_USER = re.compile(r"<@!?(\d{15,21})>")
_ROLE = re.compile(r"<@&(\d{15,21})>")
_EVERYONE = re.compile(r"@(?:everyone|here)\b")
_DEFAULT_PARSE = ("users", "roles", "everyone")


class MentionError(ValueError):
    """``allowed_mentions`` is malformed (Discord answers 400 / 50035)."""


def mentioned_user_ids(content: str) -> list[int]:
    """User ids written as mentions in the content, in order, without repeats."""
    return list(dict.fromkeys(int(m) for m in _USER.findall(content)))


def compute_pings(
    content: str,
    allowed_mentions: dict[str, Any] | None,
    *,
    replied_user_id: int | None = None,
) -> Pings:
    """The users, roles and everyone-ping the message takes effect on."""
    allowed = allowed_mentions if allowed_mentions is not None else {"parse": list(_DEFAULT_PARSE)}
    parse = set(allowed.get("parse") or [])
    allowed_users = {int(u) for u in allowed.get("users") or []}
    allowed_roles = {int(r) for r in allowed.get("roles") or []}
    if "users" in parse and allowed_users:
        raise MentionError("parse:users and users are mutually exclusive")
    if "roles" in parse and allowed_roles:
        raise MentionError("parse:roles and roles are mutually exclusive")

    users = {u for u in mentioned_user_ids(content) if "users" in parse or u in allowed_users}
    roles = {int(r) for r in _ROLE.findall(content) if "roles" in parse or int(r) in allowed_roles}
    everyone = "everyone" in parse and _EVERYONE.search(content) is not None
    # A reply pings its target's author unless replied_user is false; with no
    # allowed_mentions at all, Discord's default is to ping.
    replied = allowed.get("replied_user", allowed_mentions is None)
    if replied_user_id is not None and replied:
        users.add(replied_user_id)
    return Pings(users=frozenset(users), roles=frozenset(roles), everyone=everyone)
