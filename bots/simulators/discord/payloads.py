"""The JSON Discord sends about who and where: users, members, roles, channels, threads,
the guild, READY and application info (messages and interactions: ``message_payloads``).

Shapes follow discord-api-docs (Resources > *) with the keys discord.py 2.x reads as
required; optional keys are filled with Discord's defaults so the models build cleanly.
"""

from __future__ import annotations

from typing import Any

from .models import ChannelType, SimChannel, SimGuild, SimUser
from .snowflakes import iso_timestamp
from .world import World

__all__ = [
    "BOT_PERMISSIONS",
    "MEMBER_PERMISSIONS",
    "app_info_json",
    "channel_json",
    "guild_json",
    "member_json",
    "ready_json",
    "user_json",
]

JsonDict = dict[str, Any]

# Permission bits (discord-api-docs, Topics > Permissions).
MEMBER_PERMISSIONS = (
    (1 << 6)  # ADD_REACTIONS
    | (1 << 10)  # VIEW_CHANNEL
    | (1 << 11)  # SEND_MESSAGES
    | (1 << 14)  # EMBED_LINKS
    | (1 << 15)  # ATTACH_FILES
    | (1 << 16)  # READ_MESSAGE_HISTORY
    | (1 << 31)  # USE_APPLICATION_COMMANDS
    | (1 << 35)  # CREATE_PUBLIC_THREADS
    | (1 << 38)  # SEND_MESSAGES_IN_THREADS
)
BOT_PERMISSIONS = MEMBER_PERMISSIONS | (1 << 13) | (1 << 34)  # + MANAGE_MESSAGES, _THREADS


def user_json(user: SimUser) -> JsonDict:
    return {
        "id": str(user.id),
        "username": user.username,
        "global_name": user.username,
        "discriminator": "0",
        "avatar": None,
        "bot": user.bot,
        "public_flags": 0,
    }


def member_json(
    world: World, user: SimUser, *, guild_id: int | None = None, with_user: bool = True
) -> JsonDict:
    """``user`` as a member of ``guild_id`` (by default the first guild, which alone holds
    the roles a test adds)."""
    guild = world.guilds[world.guild_id if guild_id is None else guild_id]
    roles = [str(guild.bot_role_id)] if user.id == world.bot.id else []
    if guild.id == world.guild_id:
        roles += [str(role) for role in world.roles.of(user.id)]
    member: JsonDict = {
        "roles": roles,
        "joined_at": iso_timestamp(),
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
    }
    if with_user:
        member["user"] = user_json(user)
    return member


def _role(
    role_id: int, name: str, permissions: int, position: int, *, bot_id: int | None = None
) -> JsonDict:
    """A role; ``bot_id``: the managed role Discord creates for a bot when it joins."""
    role: JsonDict = {
        "id": str(role_id),
        "name": name,
        "color": 0,
        "hoist": False,
        "position": position,
        "permissions": str(permissions),
        "managed": bot_id is not None,
        "mentionable": False,
        "flags": 0,
    }
    if bot_id is not None:
        role["tags"] = {"bot_id": str(bot_id)}
    return role


def _thread_json(world: World, thread: SimChannel) -> JsonDict:
    data: JsonDict = {
        "id": str(thread.id),
        "type": int(thread.type),
        "guild_id": str(thread.guild_id),
        "parent_id": str(thread.parent_id),
        "owner_id": str(thread.owner_id),
        "name": thread.name,
        "last_message_id": _last_message_id(world, thread),
        "message_count": thread.message_count,
        "member_count": 1,
        "total_message_sent": thread.message_count,
        "rate_limit_per_user": 0,
        "flags": 0,
        "thread_metadata": {
            "archived": thread.archived,
            "auto_archive_duration": thread.auto_archive_duration,
            "archive_timestamp": iso_timestamp(thread.created_at),
            "locked": thread.locked,
            "create_timestamp": iso_timestamp(thread.created_at),
        },
    }
    if thread.owner_id == world.bot.id:  # the creator is joined to its thread
        data["member"] = {
            "id": str(thread.id),
            "user_id": str(world.bot.id),
            "join_timestamp": iso_timestamp(thread.created_at),
            "flags": 1,
        }
    return data


def _last_message_id(world: World, channel: SimChannel) -> str | None:
    last = world.last_message_id(channel.id)
    return str(last) if last is not None else None


def channel_json(world: World, channel: SimChannel) -> JsonDict:
    if channel.is_thread:
        return _thread_json(world, channel)
    if channel.type is ChannelType.DM:
        recipient = world.users[channel.recipient_id or 0]
        return {
            "id": str(channel.id),
            "type": int(ChannelType.DM),
            "last_message_id": _last_message_id(world, channel),
            "recipients": [user_json(recipient)],
            "flags": 0,
        }
    data: JsonDict = {
        "id": str(channel.id),
        "type": int(channel.type),
        "guild_id": str(channel.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": [],
        "parent_id": None,
        "topic": None,
        "nsfw": False,
        "rate_limit_per_user": 0,
        "last_message_id": _last_message_id(world, channel),
        "default_auto_archive_duration": 1440,
        "flags": 0,
    }
    if channel.type is ChannelType.GUILD_VOICE:
        data.update(bitrate=64000, user_limit=0, rtc_region=None)
    return data


def guild_json(world: World, guild: SimGuild, *, all_members: bool) -> JsonDict:
    """The full guild of GUILD_CREATE: channels, active threads, members and roles.

    Without the GUILD_MEMBERS intent Discord lists only the bot itself among members.
    """
    guild_channels = [c for c in world.channels.values() if c.guild_id == guild.id]
    humans = [u for u in world.users.values() if not u.bot]
    added_roles = world.roles.names if guild.id == world.guild_id else {}
    return {
        "id": str(guild.id),
        "name": guild.name,
        "icon": None,
        "owner_id": str(humans[0].id if humans else world.bot.id),
        "joined_at": iso_timestamp(),
        "large": False,
        "unavailable": False,
        "member_count": len(world.users),
        "roles": [
            _role(guild.id, "@everyone", MEMBER_PERMISSIONS, 0),
            _role(guild.bot_role_id, world.bot.username, BOT_PERMISSIONS, 1, bot_id=world.bot.id),
            *(
                _role(role_id, name, 0, 2 + index)
                for index, (role_id, name) in enumerate(added_roles.items())
            ),
        ],
        "channels": [channel_json(world, c) for c in guild_channels if not c.is_thread],
        "threads": [channel_json(world, c) for c in guild_channels if c.is_thread],
        "members": [
            member_json(world, u, guild_id=guild.id)
            for u in world.users.values()
            if all_members or u.id == world.bot.id
        ],
        "features": [],
        "emojis": [],
        "stickers": [],
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "nsfw_level": 0,
        "afk_timeout": 300,
        "system_channel_flags": 0,
    }


def ready_json(
    world: World,
    *,
    session_id: str,
    resume_url: str,
    shard: list[int] | None,
    guilds: list[SimGuild],
) -> JsonDict:
    """READY lists ``guilds`` as unavailable, each followed by its GUILD_CREATE: a shard's
    READY lists only its own guilds (discord-api-docs issue #17, sharding's announcement:
    "Guilds that are not on your shard will not ... show up in the guilds object in the
    ready packet")."""
    data: JsonDict = {
        "v": 10,
        "user": {**user_json(world.bot), "verified": True, "mfa_enabled": False, "flags": 0},
        "guilds": [{"id": str(guild.id), "unavailable": True} for guild in guilds],
        "session_id": session_id,
        "resume_gateway_url": resume_url,
        "application": {"id": str(world.application_id), "flags": 0},
        "private_channels": [],
        "relationships": [],
    }
    if shard is not None:
        data["shard"] = shard
    return data


def app_info_json(world: World) -> JsonDict:
    owner = next((u for u in world.users.values() if not u.bot), world.bot)
    return {
        "id": str(world.application_id),
        "name": world.bot.username,
        "description": "threadcast test application",
        "icon": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": user_json(owner),
        "verify_key": "0" * 64,
        "flags": 0,
        "bot": user_json(world.bot),
    }
