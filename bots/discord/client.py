"""The discord.py client threadcast runs: its intents, options and endpoint overrides.

- Intents: guilds, guild messages and DMs — none privileged. Without MESSAGE_CONTENT,
  Discord still sends the content of messages that mention the bot and of DMs; follow-ups
  in the bot's threads *without* a mention arrive empty, so ``DISCORD_MESSAGE_CONTENT``
  requests the privileged intent (it must also be switched on in the Developer Portal).
- ``AllowedMentions.none()`` as the client default (and the surface sends it on every call).
- ``max_ratelimit_timeout``: discord.py raises instead of sleeping when a bucket would
  hold a request longer than this (30 s is its minimum, and the relay's call timeout).
- ``http_trace``: every 429 is reported to the edit scheduler (:class:`RateLimitReporter`).
- A malformed gateway frame is logged and skipped (:mod:`bots.discord.gateway_guard`).
- Idle rate-limit buckets are pruned once a minute, not per new bucket
  (:mod:`bots.discord.buckets`: per new bucket is O(N²) for N replies at once).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord import RateLimitReporter
from bots.discord.buckets import prune_buckets_every
from bots.discord.gateway_guard import guard_gateway
from bots.discord.heartbeat_timing import time_heartbeats
from bots.discord.settings import DiscordSettings

__all__ = ["BotClient", "bot_intents", "discord_endpoints"]

# discord.py never waits longer than this for a rate-limit bucket; see the module doc.
_MAX_RATELIMIT_WAIT = 30.0


def bot_intents(message_content: bool) -> discord.Intents:
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.message_content = message_content
    return intents


class BotClient(discord.Client):
    """A discord.Client that hands what threadcast needs to its owner's callbacks."""

    def __init__(
        self,
        settings: DiscordSettings,
        reporter: RateLimitReporter,
        *,
        on_message: Callable[[discord.Message], None],
        on_setup: Callable[[], Coroutine[Any, Any, None]],
        on_interaction: Callable[[discord.Interaction], Coroutine[Any, Any, None]] | None = None,
        on_delete: Callable[[discord.RawMessageDeleteEvent], None] | None = None,
        on_bulk_delete: Callable[[discord.RawBulkMessageDeleteEvent], None] | None = None,
        guild_ready_timeout: float = 2.0,
        heartbeat_timeout: float = 60.0,
    ) -> None:
        # threadcast has no voice: discord.py's start-up warnings about voice libraries
        # would only be noise in the bot's log.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        options: dict[str, Any] = {}
        if settings.shard_id is not None:
            options.update(shard_id=settings.shard_id, shard_count=settings.shard_count)
        super().__init__(
            intents=bot_intents(settings.message_content),
            allowed_mentions=discord.AllowedMentions.none(),
            max_ratelimit_timeout=_MAX_RATELIMIT_WAIT,
            http_trace=reporter.trace,
            chunk_guilds_at_startup=False,
            member_cache_flags=discord.MemberCacheFlags.none(),
            guild_ready_timeout=guild_ready_timeout,
            heartbeat_timeout=heartbeat_timeout,
            **options,
        )
        guard_gateway(self._connection)
        time_heartbeats(self._connection)
        prune_buckets_every(self.http)
        self._on_message = on_message
        self._on_setup = on_setup
        self._on_interaction = on_interaction
        self._on_delete = on_delete
        self._on_bulk_delete = on_bulk_delete

    async def setup_hook(self) -> None:
        await self._on_setup()

    async def on_message(self, message: discord.Message) -> None:
        self._on_message(message)

    async def on_raw_message_delete(self, deleted: discord.RawMessageDeleteEvent) -> None:
        """Every MESSAGE_DELETE, whether or not discord.py's message cache held it."""
        if self._on_delete is not None:
            self._on_delete(deleted)

    async def on_raw_bulk_message_delete(self, deleted: discord.RawBulkMessageDeleteEvent) -> None:
        """Every MESSAGE_DELETE_BULK (a purge: one event for all its messages, no
        MESSAGE_DELETE for any of them)."""
        if self._on_bulk_delete is not None:
            self._on_bulk_delete(deleted)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every interaction, after discord.py's own routing (commands, persistent views):
        for those it cannot route, such as a modal opened before a restart."""
        if self._on_interaction is not None:
            await self._on_interaction(interaction)


@contextlib.contextmanager
def discord_endpoints(settings: DiscordSettings) -> Iterator[None]:
    """Point discord.py at ``DISCORD_API_URL`` / ``DISCORD_GATEWAY_URL`` inside the block.

    Both are class attributes (read when each request's Route is built, and on every fresh
    gateway connect), so they are set for the process and restored on the way out.
    """
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    if settings.rest_base is not None:
        Route.BASE = settings.rest_base
    if settings.gateway_url is not None:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.gateway_url)
    try:
        yield
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway
