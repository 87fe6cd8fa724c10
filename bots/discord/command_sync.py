"""Publishing the slash commands at start-up, only when Discord's copy differs.

Every shard and every restart would otherwise repeat the bulk overwrite, a route Discord
limits. The commands go globally, or only to a development guild when one is set (where a
sync shows at once); a guild and a global command of the same name both show in that guild
(discord/discord-api-docs issue #3885), so the global copies of our names are withdrawn.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp
import discord
from discord import app_commands

__all__ = ["sync_commands"]

log = logging.getLogger(__name__)

_COMPARED = ("name", "type", "description", "default_member_permissions", "nsfw")
_DEFAULTED = ("contexts", "integration_types", "dm_permission")  # global commands' only
_SETS = ("contexts", "integration_types")  # lists whose order means nothing


async def sync_commands(
    tree: app_commands.CommandTree[discord.Client], *, dev_guild: int | None, within: float
) -> None:
    """Publish ``tree``'s commands: globally, or only to ``dev_guild`` when one is set.

    Each start first reads the published commands and overwrites them only when they
    differ. A failure is logged, not fatal — also a 429 longer than discord.py waits, which
    raises ``RateLimited``, no ``HTTPException`` —: the bot still answers mentions and DMs,
    and the commands published before keep working.
    """
    guild = None if dev_guild is None else discord.Object(dev_guild)
    try:
        # All of it within ``within``: discord.py's session keeps aiohttp's 300 s a call.
        async with asyncio.timeout(within):
            if guild is not None:
                tree.copy_global_to(guild=guild)
            if await _published(tree, guild):
                log.info("application commands unchanged: not published again")
            else:
                await tree.sync(guild=guild)
            if guild is not None:
                await _withdraw_global_copies(tree)
    except (discord.HTTPException, discord.RateLimited, app_commands.AppCommandError) as exc:
        log.error("could not sync the application commands: %s", exc)
    except TimeoutError:  # (an OSError: before the network's own)
        log.error("could not sync the application commands: no answer within %g s", within)
    except (aiohttp.ClientError, OSError) as exc:  # the network, after log-in reached Discord
        log.error("could not sync the application commands: %s", str(exc) or type(exc).__name__)


async def _withdraw_global_copies(tree: app_commands.CommandTree[discord.Client]) -> None:
    """Delete the global commands of our names, once the development guild has its own.

    A version before ``DISCORD_COMMAND_GUILD`` meant "that guild only" published them
    globally as well, and a global and a guild command of one name both show in that
    guild (discord-api-docs issue #3885). Only our names go: an operator's own global
    commands of the same application stay. Done after the guild's publish, so that a
    failed publish leaves the global ones working.
    """
    client = tree.client
    app = client.application_id
    if app is None:
        return
    ours = {command.name for command in tree.get_commands()}
    for command in await client.http.get_global_commands(app):
        if command.get("name") in ours:
            try:
                await client.http.delete_global_command(app, command["id"])
            except discord.NotFound:
                continue  # another replica, starting too, deleted it first
            log.info("deleted the global /%s: the development guild has its own", command["name"])


async def _published(
    tree: app_commands.CommandTree[discord.Client], guild: discord.Object | None
) -> bool:
    """Whether Discord already has exactly these commands in ``guild`` (or globally)."""
    client = tree.client
    app = client.application_id
    if app is None:
        return False
    if guild is None:
        current: list[Any] = list(await client.http.get_global_commands(app))
    else:
        current = list(await client.http.get_guild_commands(app, guild.id))
    ours = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    # ``contexts``, ``integration_types`` and ``dm_permission`` are "only for
    # globally-scoped commands" (discord-api-docs, Application Command Object): what
    # Discord keeps of them on a guild's command decides nothing (``dm_permission``
    # does not come back at all, though discord.py sends it), so they are not compared.
    compared = _DEFAULTED if guild is None else ()
    ours_set = [k for k in compared if any(c.get(k) is not None for c in ours)]
    return _comparable(current, ours_set) == _comparable(ours, ours_set)


def _comparable(commands: list[dict[str, Any]], ours_set: list[str]) -> list[dict[str, Any]]:
    """What decides whether a published command is ours, by name. Fields Discord fills in
    with a default when we send none (``contexts``, ``integration_types``, ...) count only
    when we set them (``ours_set``): Discord answers ``contexts: null`` and
    ``integration_types: [0]`` for a command published without them (discord-api-docs issue
    #6744), so a version published before we set them differs and is overwritten once.
    Absent and empty options or localizations are alike."""
    shapes = []
    for command in commands:
        shape = {key: command.get(key) for key in _COMPARED}
        shape["type"] = command.get("type") or 1
        shape["nsfw"] = bool(command.get("nsfw"))
        shape["options"] = command.get("options") or []
        for key in ("name_localizations", "description_localizations"):
            shape[key] = command.get(key) or {}
        shape.update({key: command.get(key) for key in ours_set})
        for key in _SETS:
            if isinstance(values := shape.get(key), list):
                shape[key] = sorted(values)
        shapes.append(shape)
    return sorted(shapes, key=lambda shape: str(shape["name"]))
