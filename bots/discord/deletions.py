"""A MESSAGE_DELETE as the withdrawal of a question (pure; the I/O is the handler's).

Discord says only which message went, where (``id``, ``channel_id``, ``guild_id``:
discord-api-docs Events > Gateway Events, Message Delete), never whose it was or what it
said; discord.py's ``on_raw_message_delete`` comes for every deletion, the message
attached only when its cache still holds it. A moderator's purge (Bulk Delete Messages) is
one MESSAGE_DELETE_BULK instead (``ids``, ``channel_id``, ``guild_id``: Events > Gateway
Events, Message Delete Bulk; discord.py's ``on_raw_bulk_message_delete``, with the
``cached_messages`` it held), and each of its messages is taken as if deleted alone. So the
bot withdraws the message (see :meth:`core.responder.Responder.withdraw`) in every
conversation its turn could be in:

- the thread opened on it (such a thread has the message's id, and survives the message's
  deletion: its reply stops there, the partial text kept with a notice, since the question
  it answers is gone; nothing is posted if nothing showed yet);
- the thread it was posted in (a follow-up, or a mention in a thread);
- the channel itself (a mention answered in place: no thread could be opened, or the
  channel holds none) and a DM.

A withdrawal where no turn of that message ever was only leaves a small mark in Redis for
a day. A message the cache still holds is checked first: the bot's own (a moderator
deleting its reply: the reply goes on in a new message) and messages the bot would never
answer are no withdrawal at all.
"""

from __future__ import annotations

import discord

from adapters.discord import place
from bots.discord.routing import route_message
from core.turn import ThreadRef

__all__ = ["asked", "withdrawn_places"]


def asked(
    message: discord.Message | None, *, me: int, answer_bots: bool, reads_content: bool
) -> bool:
    """Whether a deleted message may have been a question to the bot: unknown (not in the
    cache) counts as yes."""
    if message is None:
        return True
    route = route_message(message, me=me, answer_bots=answer_bots, reads_content=reads_content)
    return route is not None


def withdrawn_places(
    channel_id: int, message_id: int, guild_id: int | None
) -> tuple[ThreadRef, ...]:
    """Every place the turn of the deleted message may be answered in."""
    if guild_id is None:
        return (place("dm", channel_id, None),)
    return (
        place("thread", message_id, guild_id),
        place("thread", channel_id, guild_id),
        place("channel", channel_id, guild_id),
    )
