"""``/new``, ``/stop``, ``/help``, ``/status``, the Stop button and the 👍 / 👎 buttons: the
conversation controls.

``/help`` is answered at once (no I/O); ``/status`` (Redis) is deferred, ephemeral, then
filled: both are seen only by the person who used them.

The commands live in an :class:`app_commands.CommandTree`, published at start-up
(:mod:`bots.discord.command_sync`). The Stop button is the persistent
:class:`~adapters.discord.StopView`, so a click on any streaming message — even one posted
before a restart — reaches :meth:`Commands.stop_clicked`; the feedback buttons and the
"why?" modal of a 👎 likewise reach :meth:`Commands.vote_clicked` and
:meth:`Commands.modal_submitted`.

``/new``, ``/stop`` and ``/status`` act on the conversation of the channel they are used in
(a thread or a DM), and reach the reply wherever it streams: ``responder.stop`` signals
through Redis.

Each interaction is acknowledged first — deferred, within Discord's 3 s — and answered once
the work is done (:mod:`bots.discord.interactions`): the commands by filling the deferred
reply (``@original``), the button by editing its message only when there is a leftover
button to remove. The work is done even when the acknowledgement failed (the process was
too slow already): the user still wants the reply stopped.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from adapters.discord import StopView
from adapters.discord.feedback_buttons import FeedbackView
from adapters.discord.reason_modal import read_reason, reason_modal
from bots.discord import texts
from bots.discord.command_sync import sync_commands
from bots.discord.interactions import (
    acknowledge_in_place,
    answer,
    answer_privately,
    ask_why,
    defer,
    follow_up_privately,
    place_of,
    reply,
)
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
    REASON_STALE,
    STORE_UNAVAILABLE,
    describe_status,
    thanks,
)

__all__ = ["Commands"]

log = logging.getLogger(__name__)


class Commands:
    """Builds the command tree, the Stop view and the feedback view, and answers them."""

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
        """Publish the commands, only when Discord's copy differs (see
        :func:`bots.discord.command_sync.sync_commands`); a failure is logged."""
        await sync_commands(self.tree, dev_guild=self.dev_guild, within=within)

    async def new_command(self, interaction: discord.Interaction) -> None:
        placed = await acknowledge_in_place(interaction, texts.NEW_NOT_HERE, ephemeral=False)
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
            await answer_privately(interaction, NOT_YOURS_TO_RESET)
        else:
            await answer(interaction, text)

    async def help_command(self, interaction: discord.Interaction) -> None:
        await reply(interaction, texts.HELP, ephemeral=True)

    async def status_command(self, interaction: discord.Interaction) -> None:
        placed = await acknowledge_in_place(interaction, texts.STATUS_NOT_HERE, ephemeral=True)
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
            await answer(interaction, text)

    async def stop_command(self, interaction: discord.Interaction) -> None:
        acknowledged = await defer(interaction, ephemeral=True)
        stopped = await self._stop(interaction)
        if acknowledged:
            await answer(interaction, _STOP_ANSWERS[stopped])

    async def stop_clicked(self, interaction: discord.Interaction) -> None:
        # Deferred without "thinking" (type 6): the message is left as it is for now.
        acknowledged = await defer(interaction, ephemeral=False)
        stopped = await self._stop(interaction)
        if stopped == "stopped" or not acknowledged:
            return  # the relay's final edit (partial text + "Stopped") removes the button
        if stopped == "refused":  # someone else's reply: it keeps its button
            await follow_up_privately(interaction, NOT_YOURS_TO_STOP)
        else:
            # A button left over from a reply that is not streaming: just remove it
            # (``@original`` of a button's interaction is the message it is on).
            await answer(interaction, remove_buttons=True)

    async def vote_clicked(self, interaction: discord.Interaction, vote: VoteValue) -> None:
        """👍 / 👎 on a reply: recorded, and acknowledged to the voter only; a 👎 is
        answered with the optional "why?" modal instead (thanks come on its submission)."""
        found = place_of(interaction, allow_channel=True)
        message = interaction.message
        if self.feedback is None or found is None or message is None:
            await defer(interaction, ephemeral=False)
            return
        where, _ = found
        ref = ReplyRef(where.platform, where.workspace, where.channel, str(message.id))
        if vote == "down":
            asked = await ask_why(interaction, reason_modal(message.id, interaction.id))
            if asked:
                await self._record_vote(interaction, ref, vote, acknowledged=False)
                return
        acknowledged = await defer(interaction, ephemeral=False)  # type 6: nothing shown
        await self._record_vote(interaction, ref, vote, acknowledged=acknowledged)

    async def _record_vote(
        self, interaction: discord.Interaction, ref: ReplyRef, vote: VoteValue, *,
        acknowledged: bool,
    ) -> None:  # fmt: skip
        """``vote`` recorded; a 👎 under its click's id, which its modal names (even when
        the modal seemed not to be shown: a timed-out answer may have been)."""
        assert self.feedback is not None
        try:
            result = await self.feedback.vote(ref, str(interaction.user.id), vote,
                                              click=str(interaction.id))  # fmt: skip
        except SessionStoreError as exc:
            log.error("could not record feedback: %s", exc)
            text = FEEDBACK_NOT_RECORDED
        else:
            if result.status == "same":
                return
            text = thanks(vote, result.status)
        if acknowledged:
            await follow_up_privately(interaction, text)

    async def modal_submitted(self, interaction: discord.Interaction) -> None:
        """Any interaction (discord.py's ``on_interaction``): a submitted "why?" modal is
        answered here, by whichever process gets it (see
        :mod:`adapters.discord.reason_modal`); anything else is left alone."""
        found = read_reason(interaction)
        if found is None:
            return
        message, reason, click = found
        place = place_of(interaction, allow_channel=True)
        if place is None:
            await defer(interaction, ephemeral=True)
            return
        where, _ = place
        ref = ReplyRef(where.platform, where.workspace, where.channel, str(message))
        await self.reason_given(interaction, ref, reason, asked=click)

    async def reason_given(
        self, interaction: discord.Interaction, ref: ReplyRef, reason: str, *,
        asked: str | None = None,
    ) -> None:  # fmt: skip
        """The 👎 modal (opened by the click ``asked``) submitted: the reason joins the
        vote; thanks, privately. This is the only answer the voter gets (the click was
        answered with the modal), so it says what was recorded: the reason; left empty,
        nothing new (the 👎 was recorded on its click: thanks for it while it stands;
        recording it again could undo a 👍 cast since on another client); nothing either
        when that 👎 was taken back (a 👍 since, on another client: storing the reason
        would undo it), said in a line (REASON_STALE: a modal's submission must be
        answered, and silence would read as the reason kept, as an empty "why?" gets
        REASON_NONE); or nothing (the reply can no longer be rated; nor can any while
        feedback is off: a modal left open across a restart with
        ``THREADCAST_FEEDBACK=false``)."""
        acknowledged = await defer(interaction, ephemeral=True, thinking=True)
        text = await self._record_reason(ref, str(interaction.user.id), reason, asked)
        if acknowledged:
            await answer(interaction, text)

    async def _record_reason(self, ref: ReplyRef, user: str, reason: str,
                             asked: str | None) -> str:  # fmt: skip
        """The reason recorded (left empty, the 👎 confirmed); what the voter is told."""
        if self.feedback is None:
            return thanks("down", "unknown")
        try:
            if reason.strip():
                result = await self.feedback.reason(ref, user, reason, asked=asked)
            else:
                result = await self.feedback.no_reason(ref, user)
        except SessionStoreError as exc:
            log.error("could not record a feedback reason: %s", exc)
            return FEEDBACK_NOT_RECORDED
        if result.status == "unknown":
            return thanks("down", "unknown")
        if result.status == "stale":
            return REASON_STALE
        if not reason.strip():
            standing = result.record is not None and result.record.vote == "down"
            return thanks("down", "same") if standing else REASON_NONE
        return REASON_SAVED

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


_STOP_ANSWERS: dict[StopResult, str] = {
    "stopped": texts.STOPPING,
    "idle": texts.NOTHING_TO_STOP,
    "refused": NOT_YOURS_TO_STOP,
}
