"""What the user hears when Discord refuses the bot a place to answer.

- No thread can be opened on a mention — a missing **Create Public Threads**, or the
  server's cap on active threads (160006) — → the reply goes in the channel, after a note
  saying why (once per channel while the cause is remembered).
- Nowhere in the channel takes the bot's messages (the surface already tried the thread's
  parent, see :class:`~adapters.discord.DiscordSurface`) → a DM to the user naming what is
  missing; when that is known before the turn, the agent is not asked at all.

A DM the user does not accept (50007) is logged; nothing else is left to try.
"""

from __future__ import annotations

import logging

import discord

from adapters.discord import DiscordSurface, place
from adapters.discord.errors import MissingPermission, ThreadLimitReached
from adapters.discord.permissions import CREATE_PUBLIC_THREADS
from adapters.discord.refs import channel_id
from bots.discord import texts
from core.errors import SurfaceError
from core.turn import ThreadRef

__all__ = ["Fallbacks"]

log = logging.getLogger(__name__)

_THREAD_LIMIT_KEY = "active thread cap"


class Fallbacks:
    """See the module docstring."""

    def __init__(self, surface: DiscordSurface) -> None:
        self.surface = surface

    async def without_thread(
        self, channel: ThreadRef, author: discord.User | discord.Member, refused: SurfaceError
    ) -> ThreadRef | None:
        """Where to answer when no thread could be opened: ``channel``, after a note on why;
        None when the channel refuses the bot too (the author has been told by DM)."""
        if isinstance(refused, MissingPermission):
            cause = refused.permission or CREATE_PUBLIC_THREADS
            note = texts.THREAD_REFUSED.format(permission=cause)
        elif isinstance(refused, ThreadLimitReached):
            cause, note = _THREAD_LIMIT_KEY, texts.THREAD_LIMIT
        else:
            log.warning("could not open a thread in %s (%s); replying there", channel, refused)
            return channel
        missing = self.surface.reach.refusal(channel_id(channel))
        if missing is None and self.surface.reach.first_hint(channel_id(channel), cause):
            try:
                await self._post(channel, note)
            except MissingPermission as exc:
                missing = exc.permission
            except SurfaceError as exc:
                log.warning("could not post a note in %s: %s", channel.channel, exc)
        if missing is None:
            return channel
        first = [cause] if isinstance(refused, MissingPermission) else []
        await self.tell_by_dm(author, channel, [*first, missing])
        return None

    def missing_everywhere(self, where: ThreadRef, parent: int | None) -> list[str]:
        """The permissions that kept a reply from ``where`` and from where it would have
        gone instead (a thread's parent; a forum post has none: the forum takes no
        messages); empty when some place took it."""
        reach = self.surface.reach
        missing = reach.refusal(channel_id(where))
        if missing is None:
            return []
        if where.thread is None or parent is None or self._is_forum(parent):
            return [missing]
        elsewhere = reach.refusal(parent)
        return [missing, elsewhere] if elsewhere is not None else []

    def _is_forum(self, channel: int) -> bool:
        found = self.surface.client.get_channel(channel)
        return isinstance(found, discord.ForumChannel)  # media channels are too

    async def tell_by_dm(
        self, author: discord.User | discord.Member, where: ThreadRef, missing: list[str]
    ) -> None:
        text = texts.CANNOT_ANSWER_HERE.format(
            channel=where.channel, permissions=texts.permission_list(missing)
        )
        requests = self.surface.requests
        try:
            async with requests.bounded(where):  # Create DM, unless discord.py has it
                dm = await author.create_dm()
            await self._post(place("dm", dm.id, None), text)
        except SurfaceError as exc:
            log.warning("could not tell user %s by DM why they got no answer: %s", author.id, exc)

    async def _post(self, where: ThreadRef, text: str) -> None:
        """A note the relay neither paces nor bounds: a token of the bot budget first, as
        the surface takes for its own extra requests, so the edit scheduler sees every
        request; then one call's timeout (a note goes to a channel or a DM: one request,
        no detour to a thread's parent)."""
        requests = self.surface.requests
        await requests.acquire(where)
        async with requests.bounded(where):
            await self.surface.post(where, text)
