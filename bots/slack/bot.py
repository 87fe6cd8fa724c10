"""``SlackBot``: bolt's listeners, wired to the core.

bolt acknowledges every event first (``process_before_response=False``) and then calls
the listener; a listener here only decides (:func:`~bots.slack.events.read_event`) and
starts the turn as a task of its own, kept in :attr:`SlackBot.tasks`, so a reply streaming
for minutes never holds bolt up, and shutdown can wait for replies, or stop them.

A turn is answered by a responder bound to a view of the surface that knows the user
(native streams are addressed to them). The Stop button (and the ``stop`` word) stops the
conversation's running reply through the turn gate, so it works whichever replica runs it.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.blocks import STOP_ACTION_ID
from adapters.slack.surface import SlackSurface
from bots.slack import messages
from bots.slack.answered import AnsweredMarks
from bots.slack.events import BotIdentity, EventFilter, Inbound, read_event
from core.errors import RateLimited, SessionStoreError, SurfaceError, ThreadcastError
from core.governance.texts import NOT_YOURS_TO_RESET, NOT_YOURS_TO_STOP
from core.inbound import invalid_ids
from core.ops.tasks import TurnTasks
from core.responder import Responder
from core.runtime import Runtime
from core.turn import ThreadRef, Turn

__all__ = ["SlackBot"]

log = logging.getLogger(__name__)

_SAY_RETRY_MAX = 10.0
"""Seconds a confirmation waits out a 429 at most (its one retry), so a turn never hangs."""


class SlackBot:
    """Registers its listeners on ``app``; see the module docstring."""

    def __init__(
        self,
        app: AsyncApp,
        runtime: Runtime,
        surface: SlackSurface,
        identity: BotIdentity,
        rules: EventFilter | None = None,
    ) -> None:
        self.app = app
        self.runtime = runtime
        self.surface = surface
        self.identity = identity
        self.rules = rules or EventFilter()
        self.responder: Responder = runtime.responder(surface, platform="slack")
        self.answered = AnsweredMarks(self.responder.gate.sessions)
        self.tasks = TurnTasks()
        surface.on_give_up = self._give_up  # its views (one per turn) share it
        app.event("app_mention")(self._on_event)
        app.event("message")(self._on_event)
        # Every other event is acknowledged and dropped: bolt answers an event nobody
        # listens to with 404, and Slack retries it (and bolt logs it) three times.
        app.event(re.compile(".*"))(self._ignore)
        app.action(STOP_ACTION_ID)(self._on_stop_click)

    # --- bolt listeners (they return at once) --------------------------------------------

    async def _on_event(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        if self.surface.api.token_problem is not None:
            return  # nothing can be posted: the agent is not asked (logged once, /readyz 503)
        team = body.get("team_id")
        inbound = read_event(
            event, team_id=team if isinstance(team, str) else None, bot=self.identity,
            rules=self.rules,
        )  # fmt: skip
        if inbound is not None:
            self._spawn(self._answer(inbound), f"slack-turn-{inbound.turn.message_id}")

    @staticmethod
    async def _ignore() -> None:
        return None

    async def _on_stop_click(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        container = body.get("container") or {}
        channel = container.get("channel_id")
        thread = container.get("thread_ts") or _button_value(body) or container.get("message_ts")
        user = (body.get("user") or {}).get("id")
        team = (body.get("team") or {}).get("id") or self.identity.team_id
        if invalid_ids(channel=channel, thread=thread, user=user, team=team) or not (
            isinstance(channel, str) and isinstance(thread, str) and isinstance(user, str)
        ):
            log.warning("Stop click without a valid channel, thread or user: ignored")
            return
        where = ThreadRef("slack", str(team), channel, thread)
        self._spawn(self._stop(where, user, announce=False), f"slack-stop-{channel}:{thread}")

    # --- turns ---------------------------------------------------------------------------

    async def _answer(self, inbound: Inbound) -> None:
        turn = inbound.turn
        try:
            if inbound.follow_up and not await self._has_conversation(turn):
                return
            if not await self._first_answer(inbound):
                return
            if inbound.command == "new":
                fresh = await self.responder.new_conversation(
                    turn.where, user=turn.user, is_dm=turn.is_dm
                )
                if fresh is None:
                    await self._tell(turn.where, turn.user, NOT_YOURS_TO_RESET, turn.message_id)
                else:
                    await self._say(turn.where, messages.NEW_SESSION)
            elif inbound.command == "stop":
                await self._stop(turn.where, turn.user, announce=True, is_dm=turn.is_dm)
            else:
                view = self.surface.for_recipient(turn.user, team=inbound.user_team)
                responder = self.runtime.responder(view)
                result = await responder.handle(turn)
                log.info("turn %s: %s", turn.message_id, result.status)
        except ThreadcastError as exc:
            log.error("turn %s failed: %s", turn.message_id, exc)

    async def _has_conversation(self, turn: Turn) -> bool:
        """A follow-up is answered only in a thread that already has a conversation."""
        key = self.responder.conversation_of(turn.where, user=turn.user, is_dm=turn.is_dm)
        return await self.responder.gate.sessions.info(key) is not None

    async def _first_answer(self, inbound: Inbound) -> bool:
        """Whether this message was never answered (and now is): see
        :mod:`bots.slack.answered`. Edits fail closed, other messages open: when Redis
        fails, the responder answers with its notice."""
        turn = inbound.turn
        if inbound.edited and self.answered.too_old_to_edit(inbound.ts):
            log.info("edit of %s ignored: older than the edit window", turn.message_id)
            return False
        key = self.responder.conversation_of(turn.where, user=turn.user, is_dm=turn.is_dm)
        try:
            first = await self.answered.claim(key, turn.message_id)
        except SessionStoreError as exc:
            log.warning("could not mark %s as answered: %s", turn.message_id, exc)
            return not inbound.edited
        if not first:
            log.info("%s already answered: %s dropped", turn.message_id,
                     "edit" if inbound.edited else "duplicate")  # fmt: skip
        return first

    def _give_up(self, where: ThreadRef, user: str, reason: str) -> None:
        """The surface says the reply in ``where`` cannot or must not go on (the person
        stopped the stream, the channel is gone, the token revoked): stop it, agent and
        all, as the Stop button does."""
        log.warning("stopping the reply in %s:%s: %s", where.channel, where.thread, reason)
        self._spawn(self._stop(where, user, announce=False), f"slack-give-up-{where.channel}")

    async def _stop(
        self, where: ThreadRef, user: str, *, announce: bool, is_dm: bool | None = None
    ) -> None:
        dm = where.channel.startswith("D") if is_dm is None else is_dm
        try:
            stopped = await self.responder.stop(where, user=user, is_dm=dm)
        except ThreadcastError as exc:
            log.error("could not stop the reply in %s: %s", where, exc)
            return
        if stopped == "idle" and announce:
            await self._say(where, messages.NOTHING_TO_STOP)
        elif stopped == "refused":  # someone else's reply: told to this user only
            await self._tell(where, user, NOT_YOURS_TO_STOP, about="")

    async def _tell(self, where: ThreadRef, user: str, markdown: str, about: str) -> None:
        """Ephemeral, to ``user`` only (``about``: the message it answers, or "")."""
        try:
            await self.surface.tell_privately(where, user, markdown, about=about)
        except SurfaceError as exc:
            log.warning("could not tell %s in %s: %s", user, where, exc)

    async def _say(self, where: ThreadRef, markdown: str) -> None:
        text = self.surface.render(markdown)
        try:
            try:
                await self.surface.post(where, text)
            except RateLimited as exc:  # a busy channel: once more, when Slack says
                await asyncio.sleep(min(exc.retry_after, _SAY_RETRY_MAX))
                await self.surface.post(where, text)
        except SurfaceError as exc:
            log.warning("could not post in %s: %s", where, exc)

    # --- lifecycle -----------------------------------------------------------------------

    @property
    def accepting(self) -> bool:
        return not self.tasks.closed

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self.tasks.spawn(self._guarded(work), name=name)

    @staticmethod
    async def _guarded(work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:  # a bug in one turn must not go unnoticed, nor affect others
            log.exception("Slack turn crashed")

    async def drain(self, grace: float) -> None:
        """Stop taking events; let running replies finish for ``grace`` seconds, then
        interrupt them (each is finalised with its partial text and an "interrupted"
        notice, and its lock released); see :class:`~core.ops.tasks.TurnTasks`."""
        await self.tasks.drain(grace)


def _button_value(body: dict[str, Any]) -> str | None:
    for action in body.get("actions") or []:
        if isinstance(action, dict) and action.get("action_id") == STOP_ACTION_ID:
            value = action.get("value")
            return value if isinstance(value, str) and value else None
    return None
