"""``/new``, ``/stop`` and the Stop button: the conversation controls.

The commands live in an :class:`app_commands.CommandTree`, synced at start-up (globally;
also to ``DISCORD_COMMAND_GUILD`` when set, where a sync shows at once). The Stop button is
the persistent :class:`~adapters.discord.StopView`, so a click on any streaming message —
even one posted before a restart — reaches :meth:`Commands.stop_clicked`.

All three act on the conversation of the channel they are used in (a thread or a DM), and
reach the reply wherever it streams: ``responder.stop`` signals through Redis.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from adapters.discord import StopView, place
from adapters.discord.refs import PlaceKind
from bots.discord import texts
from core.errors import SessionStoreError
from core.responder import Responder
from core.turn import ThreadRef

__all__ = ["Commands", "place_of"]

log = logging.getLogger(__name__)


class Commands:
    """Builds the command tree and the Stop view, and answers them."""

    def __init__(
        self, client: discord.Client, responder: Responder, *, dev_guild: int | None = None
    ) -> None:
        self.responder = responder
        self.dev_guild = dev_guild
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
        self.tree.add_command(
            app_commands.Command(
                name="new", description=texts.NEW_DESCRIPTION, callback=self.new_command
            )
        )
        self.tree.add_command(
            app_commands.Command(
                name="stop", description=texts.STOP_DESCRIPTION, callback=self.stop_command
            )
        )
        self.stop_view = StopView(self.stop_clicked)

    async def sync(self) -> None:
        """Publish the commands: globally, and to the development guild if one is set.

        A failure is logged, not fatal: the bot still answers mentions and DMs, and the
        commands synced at a previous start keep working.
        """
        try:
            await self.tree.sync()
            if self.dev_guild is not None:
                guild = discord.Object(self.dev_guild)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        except (discord.HTTPException, app_commands.AppCommandError) as exc:
            log.error("could not sync the application commands: %s", exc)

    async def new_command(self, interaction: discord.Interaction) -> None:
        found = place_of(interaction)
        if found is None:
            await _reply(interaction, texts.NEW_NOT_HERE, ephemeral=True)
            return
        where, is_dm = found
        try:
            await self.responder.new_conversation(where, user=str(interaction.user.id), is_dm=is_dm)
        except SessionStoreError as exc:
            log.error("/new failed: %s", exc)
            await _reply(interaction, texts.STORE_DOWN, ephemeral=True)
            return
        await _reply(interaction, texts.NEW_DONE, ephemeral=False)

    async def stop_command(self, interaction: discord.Interaction) -> None:
        stopped = await self._stop(interaction)
        text = texts.STOPPING if stopped else texts.NOTHING_TO_STOP
        await _reply(interaction, text, ephemeral=True)

    async def stop_clicked(self, interaction: discord.Interaction) -> None:
        if await self._stop(interaction):
            # Acknowledge without touching the message: the relay's final edit (partial
            # text + "Stopped") removes the button itself.
            await interaction.response.defer()
        else:
            # A button left over from a reply that is not streaming: just remove it.
            await interaction.response.edit_message(view=None)

    async def _stop(self, interaction: discord.Interaction) -> bool:
        found = place_of(interaction, allow_channel=True)
        if found is None:
            return False
        where, is_dm = found
        try:
            return await self.responder.stop(where, user=str(interaction.user.id), is_dm=is_dm)
        except SessionStoreError as exc:
            log.error("stop failed: %s", exc)
            return False


def place_of(
    interaction: discord.Interaction, *, allow_channel: bool = False
) -> tuple[ThreadRef, bool] | None:
    """The conversation an interaction was used in, and whether it is a DM; None in a plain
    channel (conversations live in threads) unless ``allow_channel``."""
    channel_id = interaction.channel_id
    if channel_id is None:
        return None
    guild = interaction.guild_id
    kind: PlaceKind
    if guild is None:
        kind = "dm"
    elif isinstance(interaction.channel, discord.Thread) or _is_thread_type(interaction):
        kind = "thread"
    elif allow_channel:
        kind = "channel"
    else:
        return None
    return place(kind, channel_id, guild), kind == "dm"


def _is_thread_type(interaction: discord.Interaction) -> bool:
    channel = interaction.channel
    kind = getattr(channel, "type", None)
    return kind in (
        discord.ChannelType.public_thread,
        discord.ChannelType.private_thread,
        discord.ChannelType.news_thread,
    )


async def _reply(interaction: discord.Interaction, text: str, *, ephemeral: bool) -> None:
    try:
        await interaction.response.send_message(
            text, ephemeral=ephemeral, allowed_mentions=discord.AllowedMentions.none()
        )
    except discord.HTTPException as exc:  # the 3 s window passed, or Discord is failing
        log.warning("could not answer the interaction: %s", exc)
