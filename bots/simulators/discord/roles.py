"""Guild roles beyond ``@everyone`` and the bot's managed role, and who holds them.

Discord sends a member's roles as ids (Guild Member object, ``roles``: "array of role
object ids"; ``@everyone`` is never listed there, every member has it implicitly) in
MESSAGE_CREATE's partial ``member``, in interactions' ``member`` and in GUILD_CREATE's
members; the role objects themselves come in the guild's ``roles`` (discord-api-docs,
Resources > Guild: Guild Member Object, Guild Object; Topics > Permissions: Role Object).
discord.py resolves ``Member.roles`` through the guild's cached roles, so a role given to a
member must also be listed in the guild.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["GuildRoles"]


class GuildRoles:
    """Roles a test adds (``add``) and hands out (``give``)."""

    def __init__(self, next_id: Callable[[], int]) -> None:
        self._next_id = next_id
        self.names: dict[int, str] = {}  # role id -> name, in creation order
        self._held: dict[int, set[int]] = {}  # user id -> role ids

    def add(self, name: str) -> int:
        role_id = self._next_id()
        self.names[role_id] = name
        return role_id

    def give(self, user_id: int, role_id: int) -> None:
        if role_id not in self.names:
            raise KeyError(f"no role {role_id}: add it first")
        self._held.setdefault(user_id, set()).add(role_id)

    def of(self, user_id: int) -> list[int]:
        return sorted(self._held.get(user_id, ()))
