"""Discord places as :class:`~core.turn.ThreadRef` values, built and read in one place.

A Discord conversation is a thread or a DM channel; either is a *channel* to the REST API
(a thread has its own channel id, and its own rate-limit bucket). So:

- a thread: ``ThreadRef("discord", <guild id>, <thread id>, <thread id>)``;
- a DM: ``ThreadRef("discord", "dm", <dm channel id>, None)``;
- a plain guild channel (only when a thread could not be opened):
  ``ThreadRef("discord", <guild id>, <channel id>, None)``.

``channel`` is always where messages are posted, so the surface never needs to know which
kind it is; ``thread`` is set only for threads, so conversation keys of threads and of flat
channels never collide.
"""

from __future__ import annotations

from typing import Literal

from core.turn import ThreadRef

__all__ = [
    "DM_WORKSPACE",
    "PLATFORM",
    "ChannelKind",
    "PlaceKind",
    "channel_id",
    "guild_id",
    "place",
]

PLATFORM = "discord"
DM_WORKSPACE = "dm"

PlaceKind = Literal["thread", "dm", "channel"]
ChannelKind = Literal["thread", "text", "other"]
"""What a guild channel is, for deciding whether the bot answers there."""


def place(kind: PlaceKind, channel: int, guild: int | None) -> ThreadRef:
    """The ThreadRef of a thread, DM or plain channel."""
    if kind == "dm" or guild is None:
        return ThreadRef(PLATFORM, DM_WORKSPACE, str(channel), None)
    thread = str(channel) if kind == "thread" else None
    return ThreadRef(PLATFORM, str(guild), str(channel), thread)


def channel_id(where: ThreadRef) -> int:
    """The channel (thread or DM) to post in."""
    if where.platform != PLATFORM:
        raise ValueError(f"not a Discord place: {where}")
    return int(where.channel)


def guild_id(where: ThreadRef) -> int | None:
    """The guild of a thread or channel; None for a DM."""
    return None if where.workspace == DM_WORKSPACE else int(where.workspace)
