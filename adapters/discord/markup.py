"""Discord's message markup as the text a person reads, for the agent.

Discord writes mentions, custom emoji and timestamps as markup (discord-api-docs,
Reference > Message Formatting): ``<@USER_ID>`` (and the legacy ``<@!USER_ID>``),
``<#CHANNEL_ID>``, ``<@&ROLE_ID>``, ``</NAME:COMMAND_ID>``, ``<:NAME:ID>`` and
``<a:NAME:ID>``, ``<t:TIMESTAMP>`` and ``<t:TIMESTAMP:STYLE>``. The client shows names,
emoji and dates; the agent would read snowflakes it cannot resolve. Each is replaced by
what the user saw: ``@name``, ``#channel``, ``@role``, ``/command``, ``:emoji:``, and the
date and time in UTC (the client shows it in the reader's zone, which the bot does not
know; a relative ``:R`` time is given as the absolute time it counts to).

Names come from the message (``mentions``, ``role_mentions``: Discord sends them with it)
and the guild's cache (channels, threads and roles come with GUILD_CREATE); markup whose
target is unknown is left as it is.
"""

from __future__ import annotations

import datetime
import re

import discord

__all__ = ["readable"]

_MARKUP = re.compile(
    r"<@!?(?P<user>\d+)>"
    r"|<@&(?P<role>\d+)>"
    r"|<#(?P<channel>\d+)>"
    r"|</(?P<command>[^:<>\n]+):\d+>"
    r"|<a?:(?P<emoji>\w+):\d+>"
    r"|<t:(?P<time>-?\d{1,13})(?::[tTdDfFR])?>"
)


def readable(text: str, message: discord.Message) -> str:
    """``text`` (the message's content, or part of it) with its markup made readable."""
    return _MARKUP.sub(lambda match: _replacement(match, message) or match[0], text)


def _replacement(match: re.Match[str], message: discord.Message) -> str | None:
    guild = message.guild
    if (user := match["user"]) is not None:
        uid = int(user)
        member = discord.utils.get(message.mentions, id=uid)
        if member is None and guild is not None:
            member = guild.get_member(uid)
        return f"@{member.display_name}" if member is not None else None
    if (role := match["role"]) is not None:
        rid = int(role)
        found = guild.get_role(rid) if guild is not None else None
        found = found or discord.utils.get(message.role_mentions, id=rid)
        return f"@{found.name}" if found is not None else None
    if (channel := match["channel"]) is not None:
        place = guild.get_channel_or_thread(int(channel)) if guild is not None else None
        return f"#{place.name}" if place is not None else None
    if (command := match["command"]) is not None:
        return f"/{command}"
    if (emoji := match["emoji"]) is not None:
        return f":{emoji}:"
    return _time(int(match["time"]))


def _time(seconds: int) -> str | None:
    try:
        when = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return (
        when.strftime("%Y-%m-%d %H:%M UTC")
        if when.second == 0
        else when.strftime("%Y-%m-%d %H:%M:%S UTC")
    )
