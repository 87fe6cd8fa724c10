"""``/threadcast new | stop | status | help``, answered only to the person who typed it.

Slack waits 3 s for the acknowledgement of a slash command (else the user sees
"operation_timeout"; docs.slack.dev interactivity/implementing-slash-commands). ``help``
(and anything unknown) is answered in the acknowledgement itself; the others need Redis,
so they are acknowledged at once and answered through the command's ``response_url``
(bolt's ``respond``: ephemeral unless told otherwise) when the work is done.

The command acts on the person's latest conversation in the channel
(:mod:`bots.slack.latest`): Slack does not say in which thread it was typed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from adapters.slack.mrkdwn import to_mrkdwn
from bots.slack import texts
from bots.slack.latest import LatestThreads
from core.errors import SessionStoreError
from core.inbound import invalid_ids
from core.responder import Responder
from core.status import conversation_status
from core.texts import NOT_YOURS_TO_RESET, NOT_YOURS_TO_STOP, describe_status
from core.turn import ThreadRef

__all__ = ["COMMAND", "SlashCommands"]

log = logging.getLogger(__name__)

COMMAND = "/threadcast"
_RESPOND_TIMEOUT = 10.0  # one POST to the response_url; past it the answer is given up

Respond = Callable[..., Awaitable[Any]]


class SlashCommands:
    """See the module docstring; ``spawn`` runs the answer as a task of the bot's."""

    def __init__(
        self,
        responder: Responder,
        latest: LatestThreads,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self.responder = responder
        self.latest = latest
        self._spawn = spawn

    async def on_command(self, ack: Any, body: dict[str, Any], respond: Respond) -> None:
        words = str(body.get("text") or "").split()
        word = words[0].lower() if words else "help"
        if word not in ("new", "stop", "status"):
            text = texts.COMMAND_HELP if word == "help" else texts.UNKNOWN_COMMAND
            await ack(text=to_mrkdwn(text.replace("{word}", word[:40])))
            return
        await ack()
        channel, user, team = body.get("channel_id"), body.get("user_id"), body.get("team_id")
        if invalid_ids(channel=channel, user=user, team=team) or not (
            isinstance(channel, str) and isinstance(user, str) and isinstance(team, str)
        ):
            log.warning("%s without a valid channel, user or team: ignored", COMMAND)
            return
        self._spawn(self._run(word, team, channel, user, respond), f"slack-command-{word}")

    async def _run(self, word: str, team: str, channel: str, user: str, respond: Respond) -> None:
        try:
            text = await self._answer(word, team, channel, user)
        except SessionStoreError as exc:
            log.error("%s %s failed: %s", COMMAND, word, exc)
            text = SessionStoreError.notice
        try:
            async with asyncio.timeout(_RESPOND_TIMEOUT):
                await respond(text=to_mrkdwn(text), response_type="ephemeral")
        except Exception as exc:  # the response_url expired or Slack is unreachable
            log.warning("could not answer %s %s: %r", COMMAND, word, exc)

    async def _answer(self, word: str, team: str, channel: str, user: str) -> str:
        thread = await self.latest.latest(team, channel, user)
        if thread is None:
            return texts.NO_CONVERSATION
        where = ThreadRef("slack", team, channel, thread)
        is_dm = channel.startswith("D")
        responder = self.responder
        if word == "new":
            fresh = await responder.new_conversation(where, user=user, is_dm=is_dm)
            return texts.NEW_SESSION if fresh is not None else NOT_YOURS_TO_RESET
        if word == "stop":
            stopped = await responder.stop(where, user=user, is_dm=is_dm)
            return {"stopped": texts.STOPPING, "idle": texts.NOTHING_TO_STOP}.get(
                stopped, NOT_YOURS_TO_STOP
            )
        conversation = responder.conversation_of(where, user=user, is_dm=is_dm)
        return describe_status(await conversation_status(responder.gate, conversation))
