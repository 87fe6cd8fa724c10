"""Answering an interaction (a command, a button click, a submitted modal), and where it was
used.

Discord drops an interaction that is not answered within 3 s of its creation ("Unknown
interaction", 10062; the user sees "This interaction failed"), and Redis may be slower than
that. So each is acknowledged first (:func:`defer`) and answered once the work is done
(:func:`answer`, :func:`follow_up_privately`). Every call here is bounded and never raises:
a failed answer is logged, and the caller goes on (the user still wants the reply stopped).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord

from adapters.discord import place
from adapters.discord.refs import PlaceKind
from core.turn import ThreadRef

__all__ = [
    "acknowledge_in_place",
    "answer",
    "answer_privately",
    "ask_why",
    "defer",
    "follow_up_privately",
    "place_of",
    "reply",
]

log = logging.getLogger(__name__)

# One call to Discord about an interaction may take this long; past it the user has a
# "thinking" message that never resolves, which is better than a handler stuck forever.
_CALL_TIMEOUT = 10.0


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


async def acknowledge_in_place(
    interaction: discord.Interaction, not_here: str, *, ephemeral: bool
) -> tuple[ThreadRef, bool, bool] | None:
    """For a command about the conversation it is used in: the place, whether it is a DM and
    whether the acknowledgement worked; None outside a conversation, where ``not_here`` is
    the answer, decided without Redis and sent at once."""
    found = place_of(interaction)
    if found is None:
        await reply(interaction, not_here, ephemeral=True)
        return None
    acknowledged = await defer(interaction, ephemeral=ephemeral)
    where, is_dm = found
    return where, is_dm, acknowledged


async def reply(interaction: discord.Interaction, text: str, *, ephemeral: bool) -> None:
    """Answer at once, without deferring (what needs no I/O: ``/help``, "not here")."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.response.send_message(
                text, ephemeral=ephemeral, allowed_mentions=discord.AllowedMentions.none()
            )
    except (discord.HTTPException, TimeoutError) as exc:  # the 3 s window passed, or worse
        log.warning("could not answer the interaction: %s", exc)


async def defer(
    interaction: discord.Interaction, *, ephemeral: bool, thinking: bool = False
) -> bool:
    """Acknowledge within Discord's 3 s; whether that worked. A command shows "thinking"
    (type 5) until :func:`answer`; a button press shows nothing (type 6)."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            if thinking:
                await interaction.response.defer(ephemeral=ephemeral, thinking=True)
            else:
                await interaction.response.defer(ephemeral=ephemeral)
        return True
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not acknowledge the interaction in time: %s", exc)
        return False


async def answer(
    interaction: discord.Interaction, text: str | None = None, *, remove_buttons: bool = False
) -> None:
    """Fill the deferred response (``@original``) with ``text``, or remove the buttons of
    the message a button press was deferred on."""
    options: dict[str, Any] = {"allowed_mentions": discord.AllowedMentions.none()}
    if text is not None:
        options["content"] = text
    if remove_buttons:
        options["view"] = None
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.edit_original_response(**options)
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not answer the interaction: %s", exc)


async def follow_up_privately(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral follow-up: only the user who clicked sees it."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.followup.send(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not answer the interaction: %s", exc)


async def answer_privately(interaction: discord.Interaction, text: str) -> None:
    """Replace a public "thinking" response by a note only the user sees."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.delete_original_response()
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not remove the deferred response: %s", exc)
    await follow_up_privately(interaction, text)


async def ask_why(interaction: discord.Interaction, modal: discord.ui.Modal) -> bool:
    """Answer a click with a modal (type 9); whether it was shown."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.response.send_modal(modal)
        return True
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not ask why (👎): %s", exc)
        return False
