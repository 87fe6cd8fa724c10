"""Telling one user something nobody else sees, from a message event: a direct message.

Discord has no ephemeral reply to a *message*: the ``EPHEMERAL`` message flag is "only
visible to the user who invoked the Interaction", and Create Message takes only
``SUPPRESS_EMBEDS`` and ``SUPPRESS_NOTIFICATIONS`` as flags (discord-api-docs, Message
Resource: Message Flags; Create Message, ``flags``). The closest a message event allows is
a DM: Create DM (``POST /users/@me/channels``; "DMs should generally be initiated by a user
action" — here the user's own message, and at most once an hour), then a message there. A
reply in the channel would speak where the bot may not; one deleted after a while is still
seen by everyone. A note about a DM goes into that DM. A user who takes no DMs from server
members makes Discord answer 50007: raised as a :class:`~core.errors.SurfaceError`.
"""

from __future__ import annotations

import discord

from adapters.discord.refs import DM_WORKSPACE
from adapters.discord.requests import DiscordRequests
from core.turn import ThreadRef

__all__ = ["tell_privately"]


async def tell_privately(requests: DiscordRequests, where: ThreadRef, user: str, text: str) -> None:
    """DM ``text`` to ``user``; each request takes a token of the bot's budget and is
    bounded by the call timeout (no relay paces or bounds these)."""
    target = requests.channel(where)
    if where.workspace != DM_WORKSPACE:
        await requests.acquire(where)
        async with requests.bounded(where):
            dm = await requests.client.create_dm(discord.Object(int(user)))
        target = requests.client.get_partial_messageable(dm.id)
    await requests.acquire(where)
    async with requests.bounded(where):
        await target.send(text, allowed_mentions=discord.AllowedMentions.none())
