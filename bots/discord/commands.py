"""``/new``, ``/stop``, ``/help``, ``/status`` and the Stop button: the conversation controls.

``/help`` is answered at once (no I/O); ``/status`` (Redis) is deferred, ephemeral, then
filled: both are seen only by the person who used them.

The commands live in an :class:`app_commands.CommandTree`, synced at start-up (globally;
or only to ``DISCORD_COMMAND_GUILD`` when set, where a sync shows at once). The Stop button is
the persistent :class:`~adapters.discord.StopView`, so a click on any streaming message —
even one posted before a restart — reaches :meth:`Commands.stop_clicked`.

All three act on the conversation of the channel they are used in (a thread or a DM), and
reach the reply wherever it streams: ``responder.stop`` signals through Redis.

Discord drops an interaction that is not answered within 3 s of its creation ("Unknown
interaction", 10062; the user sees "This interaction failed"), and Redis may be slower than
that. So each is acknowledged first — deferred — and answered once the work is done: the
commands by filling the deferred reply (``@original``), the button by editing its message
only when there is a leftover button to remove. The work is done even when the
acknowledgement failed (the process was too slow already): the user still wants the reply
stopped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import discord
from discord import app_commands

from adapters.discord import StopView, place
from adapters.discord.feedback_buttons import FeedbackView
from adapters.discord.reason_modal import read_reason, reason_modal
from adapters.discord.refs import PlaceKind
from bots.discord import texts
from core.errors import SessionStoreError
from core.feedback.model import ReplyRef, VoteValue
from core.feedback.service import Feedback
from core.governance.controls import StopResult
from core.responder import Responder
from core.status import conversation_status
from core.texts import (
    FEEDBACK_NOT_RECORDED,
    NOT_YOURS_TO_RESET,
    NOT_YOURS_TO_STOP,
    REASON_NONE,
    REASON_SAVED,
    STORE_UNAVAILABLE,
    describe_status,
    thanks,
)
from core.turn import ThreadRef

__all__ = ["Commands", "place_of"]

log = logging.getLogger(__name__)


class Commands:
    """Builds the command tree and the Stop view, and answers them."""

    def __init__(
        self,
        client: discord.Client,
        responder: Responder,
        *,
        dev_guild: int | None = None,
        feedback: Feedback | None = None,
    ) -> None:
        self.responder = responder
        self.feedback = feedback
        self.dev_guild = dev_guild
        # Only where the bot is: a server that installed it, and its DM. Without this, an app
        # that also allows User Install offers the commands in servers and group DMs the
        # bot is not in (discord-api-docs, Interactions > Application Commands > Contexts:
        # ``integration_types`` 0 GUILD_INSTALL, 1 USER_INSTALL; ``contexts`` 0 GUILD,
        # 1 BOT_DM, 2 PRIVATE_CHANNEL). Every command of the tree gets both fields.
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(
            client,
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=True, private_channel=False
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )
        commands = {
            "new": (texts.NEW_DESCRIPTION, self.new_command),
            "stop": (texts.STOP_DESCRIPTION, self.stop_command),
            "help": (texts.HELP_DESCRIPTION, self.help_command),
            "status": (texts.STATUS_DESCRIPTION, self.status_command),
        }
        for name, (description, callback) in commands.items():
            self.tree.add_command(
                app_commands.Command(name=name, description=description, callback=callback)
            )
        self.stop_view = StopView(self.stop_clicked)
        self.feedback_view = FeedbackView(self.vote_clicked)

    async def sync(self, *, within: float) -> None:
        """Publish the commands: globally, or only to the development guild when one is set
        (a guild and a global command of the same name both show in that guild: each
        command would be offered twice; discord/discord-api-docs issue #3885).

        Each start first reads the published commands and overwrites them only when they
        differ: every shard and every restart would otherwise repeat the bulk overwrite, a
        route Discord limits. A failure is logged, not fatal — also a 429 longer than
        discord.py waits, which raises ``RateLimited``, no ``HTTPException`` —: the bot
        still answers mentions and DMs, and the commands published before keep working.
        """
        guild = None if self.dev_guild is None else discord.Object(self.dev_guild)
        try:
            # All of it within ``within``: discord.py's session keeps aiohttp's 300 s a call.
            async with asyncio.timeout(within):
                if guild is not None:
                    self.tree.copy_global_to(guild=guild)
                if await self._published(guild):
                    log.info("application commands unchanged: not published again")
                else:
                    await self.tree.sync(guild=guild)
                if guild is not None:
                    await self._withdraw_global_copies()
        except (discord.HTTPException, discord.RateLimited, app_commands.AppCommandError) as exc:
            log.error("could not sync the application commands: %s", exc)
        except TimeoutError:
            log.error("could not sync the application commands: no answer within %g s", within)

    async def _withdraw_global_copies(self) -> None:
        """Delete the global commands of our names, once the development guild has its own.

        A version before ``DISCORD_COMMAND_GUILD`` meant "that guild only" published them
        globally as well, and a global and a guild command of one name both show in that
        guild (discord-api-docs issue #3885). Only our names go: an operator's own global
        commands of the same application stay. Done after the guild's publish, so that a
        failed publish leaves the global ones working.
        """
        client = self.tree.client
        app = client.application_id
        if app is None:
            return
        ours = {command.name for command in self.tree.get_commands()}
        for command in await client.http.get_global_commands(app):
            if command.get("name") in ours:
                try:
                    await client.http.delete_global_command(app, command["id"])
                except discord.NotFound:
                    continue  # another replica, starting too, deleted it first
                log.info(
                    "deleted the global /%s: the development guild has its own", command["name"]
                )

    async def _published(self, guild: discord.Object | None) -> bool:
        """Whether Discord already has exactly these commands in ``guild`` (or globally)."""
        client = self.tree.client
        app = client.application_id
        if app is None:
            return False
        if guild is None:
            current: list[Any] = list(await client.http.get_global_commands(app))
        else:
            current = list(await client.http.get_guild_commands(app, guild.id))
        ours = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        # ``contexts``, ``integration_types`` and ``dm_permission`` are "only for
        # globally-scoped commands" (discord-api-docs, Application Command Object): what
        # Discord keeps of them on a guild's command decides nothing (``dm_permission``
        # does not come back at all, though discord.py sends it), so they are not compared.
        compared = _DEFAULTED if guild is None else ()
        ours_set = [k for k in compared if any(c.get(k) is not None for c in ours)]
        return _comparable(current, ours_set) == _comparable(ours, ours_set)

    async def new_command(self, interaction: discord.Interaction) -> None:
        placed = await _acknowledge_in_place(interaction, texts.NEW_NOT_HERE, ephemeral=False)
        if placed is None:
            return
        where, is_dm, acknowledged = placed
        try:
            fresh = await self.responder.new_conversation(
                where, user=str(interaction.user.id), is_dm=is_dm
            )
            text = texts.NEW_DONE if fresh is not None else None
        except SessionStoreError as exc:
            log.error("/new failed: %s", exc)
            text = STORE_UNAVAILABLE
        if not acknowledged:
            return
        if text is None:  # someone else's conversation: told to this user only
            await _answer_privately(interaction, NOT_YOURS_TO_RESET)
        else:
            await _answer(interaction, text)

    async def help_command(self, interaction: discord.Interaction) -> None:
        await _reply(interaction, texts.HELP, ephemeral=True)

    async def status_command(self, interaction: discord.Interaction) -> None:
        placed = await _acknowledge_in_place(interaction, texts.STATUS_NOT_HERE, ephemeral=True)
        if placed is None:
            return
        where, is_dm, acknowledged = placed
        responder = self.responder
        conversation = responder.conversation_of(where, user=str(interaction.user.id), is_dm=is_dm)
        try:
            text = describe_status(await conversation_status(responder.gate, conversation))
        except SessionStoreError as exc:
            log.error("/status failed: %s", exc)
            text = STORE_UNAVAILABLE
        if acknowledged:
            await _answer(interaction, text)

    async def stop_command(self, interaction: discord.Interaction) -> None:
        acknowledged = await _defer(interaction, ephemeral=True)
        stopped = await self._stop(interaction)
        if acknowledged:
            await _answer(interaction, _STOP_ANSWERS[stopped])

    async def stop_clicked(self, interaction: discord.Interaction) -> None:
        # Deferred without "thinking" (type 6): the message is left as it is for now.
        acknowledged = await _defer(interaction, ephemeral=False)
        stopped = await self._stop(interaction)
        if stopped == "stopped" or not acknowledged:
            return  # the relay's final edit (partial text + "Stopped") removes the button
        if stopped == "refused":  # someone else's reply: it keeps its button
            await _follow_up_privately(interaction, NOT_YOURS_TO_STOP)
        else:
            # A button left over from a reply that is not streaming: just remove it
            # (``@original`` of a button's interaction is the message it is on).
            await _answer(interaction, remove_buttons=True)

    async def vote_clicked(self, interaction: discord.Interaction, vote: VoteValue) -> None:
        """👍 / 👎 on a reply: recorded, and acknowledged to the voter only; a 👎 is
        answered with the optional "why?" modal instead (thanks come on its submission)."""
        found = place_of(interaction, allow_channel=True)
        message = interaction.message
        if self.feedback is None or found is None or message is None:
            await _defer(interaction, ephemeral=False)
            return
        where, _ = found
        ref = ReplyRef(where.platform, where.workspace, where.channel, str(message.id))
        if vote == "down":
            asked = await _ask_why(interaction, reason_modal(message.id))
            if asked:
                await self._record_vote(interaction, ref, vote, acknowledged=False)
                return
        acknowledged = await _defer(interaction, ephemeral=False)  # type 6: nothing shown
        await self._record_vote(interaction, ref, vote, acknowledged=acknowledged)

    async def _record_vote(
        self, interaction: discord.Interaction, ref: ReplyRef, vote: VoteValue, *,
        acknowledged: bool,
    ) -> None:  # fmt: skip
        assert self.feedback is not None
        try:
            result = await self.feedback.vote(ref, str(interaction.user.id), vote)
        except SessionStoreError as exc:
            log.error("could not record feedback: %s", exc)
            text = FEEDBACK_NOT_RECORDED
        else:
            if result.status == "same":
                return
            text = thanks(vote, result.status)
        if acknowledged:
            await _follow_up_privately(interaction, text)

    async def modal_submitted(self, interaction: discord.Interaction) -> None:
        """Any interaction (discord.py's ``on_interaction``): a submitted "why?" modal is
        answered here, by whichever process gets it (see
        :mod:`adapters.discord.reason_modal`); anything else is left alone."""
        found = read_reason(interaction)
        if found is None:
            return
        message, reason = found
        place = place_of(interaction, allow_channel=True)
        if place is None:
            await _defer(interaction, ephemeral=True)
            return
        where, _ = place
        ref = ReplyRef(where.platform, where.workspace, where.channel, str(message))
        await self.reason_given(interaction, ref, reason)

    async def reason_given(
        self, interaction: discord.Interaction, ref: ReplyRef, reason: str
    ) -> None:
        """The 👎 modal submitted: the reason joins the vote; thanks, privately. This is
        the only answer the voter gets (the click was answered with the modal), so it says
        what was recorded: the reason; left empty, nothing new (the 👎 was recorded on its
        click: thanks for it while it stands; recording it again could undo a 👍 cast
        since on another client); or nothing (the reply can no longer be rated; nor can
        any while feedback is off: a modal left open across a restart with
        ``THREADCAST_FEEDBACK=false``)."""
        acknowledged = await _defer(interaction, ephemeral=True, thinking=True)
        user = str(interaction.user.id)
        text = REASON_SAVED
        if self.feedback is None:
            text = thanks("down", "unknown")
        else:
            try:
                if reason.strip():
                    result = await self.feedback.reason(ref, user, reason)
                else:
                    result = await self.feedback.no_reason(ref, user)
            except SessionStoreError as exc:
                log.error("could not record a feedback reason: %s", exc)
                text = FEEDBACK_NOT_RECORDED
            else:
                if result.status == "unknown":
                    text = thanks("down", "unknown")
                elif not reason.strip():
                    standing = result.record is not None and result.record.vote == "down"
                    text = thanks("down", "same") if standing else REASON_NONE
        if acknowledged:
            await _answer(interaction, text)

    async def _stop(self, interaction: discord.Interaction) -> StopResult:
        found = place_of(interaction, allow_channel=True)
        if found is None:
            return "idle"
        where, is_dm = found
        try:
            return await self.responder.stop(where, user=str(interaction.user.id), is_dm=is_dm)
        except SessionStoreError as exc:
            log.error("stop failed: %s", exc)
            return "idle"


_COMPARED = ("name", "type", "description", "default_member_permissions", "nsfw")
_DEFAULTED = ("contexts", "integration_types", "dm_permission")  # global commands' only
_SETS = ("contexts", "integration_types")  # lists whose order means nothing


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


# One call to Discord about an interaction may take this long; past it the user has a
# "thinking" message that never resolves, which is better than a handler stuck forever.
_CALL_TIMEOUT = 10.0


async def _acknowledge_in_place(
    interaction: discord.Interaction, not_here: str, *, ephemeral: bool
) -> tuple[ThreadRef, bool, bool] | None:
    """For a command about the conversation it is used in: the place, whether it is a DM and
    whether the acknowledgement worked; None outside a conversation, where ``not_here`` is
    the answer, decided without Redis and sent at once."""
    found = place_of(interaction)
    if found is None:
        await _reply(interaction, not_here, ephemeral=True)
        return None
    acknowledged = await _defer(interaction, ephemeral=ephemeral)
    where, is_dm = found
    return where, is_dm, acknowledged


async def _reply(interaction: discord.Interaction, text: str, *, ephemeral: bool) -> None:
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.response.send_message(
                text, ephemeral=ephemeral, allowed_mentions=discord.AllowedMentions.none()
            )
    except (discord.HTTPException, TimeoutError) as exc:  # the 3 s window passed, or worse
        log.warning("could not answer the interaction: %s", exc)


_STOP_ANSWERS: dict[StopResult, str] = {
    "stopped": texts.STOPPING,
    "idle": texts.NOTHING_TO_STOP,
    "refused": NOT_YOURS_TO_STOP,
}


async def _follow_up_privately(interaction: discord.Interaction, text: str) -> None:
    """An ephemeral follow-up: only the user who clicked sees it."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.followup.send(
                text, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
            )
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not answer the interaction: %s", exc)


async def _answer_privately(interaction: discord.Interaction, text: str) -> None:
    """Replace a public "thinking" response by a note only the user sees."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.delete_original_response()
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not remove the deferred response: %s", exc)
    await _follow_up_privately(interaction, text)


async def _ask_why(interaction: discord.Interaction, modal: discord.ui.Modal) -> bool:
    """Answer a click with a modal (type 9); whether it was shown."""
    try:
        async with asyncio.timeout(_CALL_TIMEOUT):
            await interaction.response.send_modal(modal)
        return True
    except (discord.HTTPException, TimeoutError) as exc:
        log.warning("could not ask why (👎): %s", exc)
        return False


async def _defer(
    interaction: discord.Interaction, *, ephemeral: bool, thinking: bool = False
) -> bool:
    """Acknowledge within Discord's 3 s; whether that worked. A command shows "thinking"
    (type 5) until :func:`_answer`; a button press shows nothing (type 6)."""
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


async def _answer(
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
