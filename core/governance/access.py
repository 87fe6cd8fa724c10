"""Who may use the bot, where: one pure decision per message, made before anything else.

The rules, in the order they are checked (the first that refuses names the reason):

1. ``workspaces``: the Slack team or Discord server. A Discord DM belongs to no server
   (its workspace is ``dm``), so only ``dms`` and ``users`` decide it.
2. ``channels``: not for DMs. On Discord a thread counts as the channel it was opened in
   (its own id matches too).
3. ``dms``: ``false`` refuses every direct message.
4. ``users``: everywhere.
5. ``roles``: Discord servers only (Slack has no roles; DMs carry none).

Each is an allow list and a deny list: a listed deny refuses; a non-empty allow list
refuses whoever is not on it. ``admins`` are not exempt from these rules (they are from
quotas): an admin outside an allowed channel is still outside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.deployment.schema import AccessSpec, IdRule
from core.turn import Turn

__all__ = ["DISCORD_DM_WORKSPACE", "Admission", "DenyReason", "admit"]

DenyReason = Literal["workspace", "channel", "dm", "user", "role"]

DISCORD_DM_WORKSPACE = "dm"
"""The workspace of a Discord DM (``adapters.discord.refs``): no server."""


@dataclass(frozen=True, slots=True)
class Admission:
    """The access decision for one message: made once, then passed along with the turn."""

    allowed: bool
    reason: DenyReason | None = None
    admin: bool = False
    """An admin: exempt from quotas; may stop or reset any conversation."""


def admit(access: AccessSpec, turn: Turn) -> Admission:
    admin = turn.user in access.admins
    reason = _refusal(access, turn)
    return Admission(allowed=reason is None, reason=reason, admin=admin)


def _refusal(access: AccessSpec, turn: Turn) -> DenyReason | None:
    where = turn.where
    no_server = turn.is_dm and where.workspace == DISCORD_DM_WORKSPACE
    if not no_server and not _passes(access.workspaces, (where.workspace,)):
        return "workspace"
    if not turn.is_dm and not _passes(access.channels, _channel_ids(turn)):
        return "channel"
    if turn.is_dm and not access.dms:
        return "dm"
    if not _passes(access.users, (turn.user,)):
        return "user"
    if where.platform == "discord" and not turn.is_dm and not _passes(access.roles, turn.roles):
        return "role"
    return None


def _channel_ids(turn: Turn) -> tuple[str, ...]:
    if turn.parent is None:
        return (turn.where.channel,)
    return (turn.where.channel, turn.parent)


def _passes(rule: IdRule, ids: tuple[str, ...]) -> bool:
    if any(i in rule.deny for i in ids):
        return False
    return not rule.allow or any(i in rule.allow for i in ids)
