"""Application commands as Discord stores them: global or per guild, keyed by name.

A bulk overwrite (``PUT /applications/{id}/commands``) keeps the id of a command whose name
already exists and drops the others, as Discord does; dispatched interactions carry the
registered id so discord.py's ``CommandTree`` can match them.
"""

from __future__ import annotations

from typing import Any

from .errors import unknown
from .snowflakes import SnowflakeFactory

__all__ = ["CommandRegistry"]

JsonDict = dict[str, Any]


class CommandRegistry:
    """Commands by scope (``None`` = global, else a guild id) and name."""

    def __init__(self, ids: SnowflakeFactory, application_id: int) -> None:
        self._ids = ids
        self._application_id = application_id
        self._by_scope: dict[int | None, dict[str, JsonDict]] = {}

    def scope(self, guild_id: int | None = None) -> list[JsonDict]:
        return list(self._by_scope.get(guild_id, {}).values())

    def names(self, guild_id: int | None = None) -> list[str]:
        return list(self._by_scope.get(guild_id, {}))

    def get(self, guild_id: int | None, command_id: int) -> JsonDict:
        for command in self._by_scope.get(guild_id, {}).values():
            if int(command["id"]) == command_id:
                return command
        raise unknown("command")

    def overwrite(self, guild_id: int | None, bodies: list[JsonDict]) -> list[JsonDict]:
        old = self._by_scope.get(guild_id, {})
        new: dict[str, JsonDict] = {}
        for body in bodies:
            new[body["name"]] = self._build(old.get(body["name"]), guild_id, body)
        self._by_scope[guild_id] = new
        return list(new.values())

    def upsert(self, guild_id: int | None, body: JsonDict) -> JsonDict:
        scope = self._by_scope.setdefault(guild_id, {})
        scope[body["name"]] = self._build(scope.get(body["name"]), guild_id, body)
        return scope[body["name"]]

    def delete(self, guild_id: int | None, command_id: int) -> None:
        command = self.get(guild_id, command_id)
        del self._by_scope[guild_id][command["name"]]

    def command_id(self, name: str, guild_id: int | None) -> int:
        """The registered id of a command (guild first, then global); a fresh id if unknown."""
        for scope in (guild_id, None):
            found = self._by_scope.get(scope, {}).get(name)
            if found is not None:
                return int(found["id"])
        return self._ids.next()

    def _build(self, old: JsonDict | None, guild_id: int | None, body: JsonDict) -> JsonDict:
        command: JsonDict = {
            "id": old["id"] if old else str(self._ids.next()),
            "application_id": str(self._application_id),
            "version": str(self._ids.next()),
            "type": body.get("type", 1),
            "name": body["name"],
            "description": body.get("description", ""),
            "options": body.get("options", []),
            "default_member_permissions": body.get("default_member_permissions"),
            "dm_permission": body.get("dm_permission", True),
            "nsfw": body.get("nsfw", False),
            "integration_types": body.get("integration_types", [0]),
            "contexts": body.get("contexts"),
        }
        if guild_id is not None:
            command["guild_id"] = str(guild_id)
            # "dm_permission: ... only for globally-scoped commands" (discord-api-docs,
            # Application Command Object): a guild's command comes back without it
            # (discord-api-types: RESTGetAPIApplicationGuildCommandsResult =
            # Omit<APIApplicationCommand, 'dm_permission'>).
            del command["dm_permission"]
        return command
