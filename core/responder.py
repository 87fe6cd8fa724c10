"""Answering one turn, end to end: check → dedup/session/lock → agent stream → relay.

This is the only place where the core's parts meet; bots call :meth:`Responder.handle` for
every message they decide to answer, and :meth:`new_conversation` / :meth:`stop` for the
"new conversation" command and the Stop button.
"""

from __future__ import annotations

import asyncio
import copy
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Literal

from pydantic import BaseModel

from core.agents.base import Agent
from core.config import SessionScope
from core.errors import SessionStoreError, SurfaceError
from core.inbound import check_inbound
from core.models import AgentStream
from core.ops import metrics
from core.ops.logs import turn_context
from core.ops.tasks import INTERRUPTED, NOT_ANSWERED, on_interrupt
from core.relay.relay import Relay, ReplyOutcome
from core.sessions.gate import TurnGate
from core.sessions.keys import conversation_key
from core.turn import ThreadRef, Turn

__all__ = ["Responder", "TurnResult"]

log = logging.getLogger(__name__)

TurnStatus = Literal["answered", "replied", "duplicate", "store_failed"]


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What happened to a turn.

    ``answered``: the agent was called (``outcome`` says how the reply ended);
    ``replied``: a friendly reply without the agent (empty or over-long message);
    ``duplicate``: a redelivered event, dropped; ``store_failed``: Redis failed, a notice
    was posted instead.
    """

    status: TurnStatus
    conversation: str
    outcome: ReplyOutcome | None = None
    session_id: str | None = None


class Responder:
    """Turns a :class:`Turn` into a streamed reply on the relay's surface."""

    def __init__(
        self,
        *,
        agent: Agent,
        gate: TurnGate,
        relay: Relay,
        max_input_chars: int,
        session_scope: SessionScope = "thread",
        response_format: type[BaseModel] | None = None,
    ) -> None:
        self.agent = agent
        self.gate = gate
        self.relay = relay
        self.max_input_chars = max_input_chars
        self.session_scope = session_scope
        self.response_format = response_format

    def conversation_of(self, where: ThreadRef, *, user: str, is_dm: bool) -> str:
        return conversation_key(where, user=user, is_dm=is_dm, scope=self.session_scope)

    async def handle(self, turn: Turn) -> TurnResult:
        conversation = self.conversation_of(turn.where, user=turn.user, is_dm=turn.is_dm)
        # Every log line of this turn (relay and adapters included) carries its ids.
        with turn_context(conversation, turn.message_id):
            return await self._handle(turn, conversation)

    async def _handle(self, turn: Turn, conversation: str) -> TurnResult:
        inbound = check_inbound(turn.text, max_chars=self.max_input_chars)
        if inbound.reply is not None:
            await self._post_quietly(turn.where, inbound.reply)
            return TurnResult("replied", conversation)
        event_id = f"{turn.where.platform}:{turn.message_id}"
        # A shutdown may stop this turn while it still waits behind another in its thread:
        # the user is then told to send it again, not left without an answer.
        waiting = True
        shutdown: list[bool] = []
        on_interrupt(lambda: shutdown.append(waiting))
        try:
            async with self.gate.enter(conversation, event_id) as ticket:
                waiting = False
                if ticket is None:
                    log.info("duplicate event %s dropped", event_id)
                    return TurnResult("duplicate", conversation)
                chunks = self.agent.stream(
                    inbound.text,
                    session_id=ticket.session_id,
                    user_id=turn.user,
                    response_format=self.response_format,
                )
                outcome = await self._deliver(turn, chunks, ticket.cancelled)
                return TurnResult("answered", conversation, outcome, ticket.session_id)
        except SessionStoreError as exc:
            log.error("session store failed for %s: %s", conversation, exc)
            await self._post_quietly(turn.where, SessionStoreError.notice)
            return TurnResult("store_failed", conversation)
        except asyncio.CancelledError:
            if shutdown and shutdown[0]:
                await self._post_quietly(turn.where, NOT_ANSWERED)
            raise

    async def _deliver(
        self, turn: Turn, chunks: AsyncIterator[AgentStream], cancelled: asyncio.Event
    ) -> ReplyOutcome:
        # A relay of this turn's own (a shallow copy: same surface, scheduler, client), so
        # a shutdown can make this reply end "interrupted" instead of "stopped".
        relay = copy.copy(self.relay)

        def interrupted() -> None:
            relay.notices = replace(relay.notices, stopped=INTERRUPTED)

        on_interrupt(interrupted)
        platform = turn.where.platform
        metrics.turn_started(platform)
        status = "cancelled"  # unless the relay returns: the task itself was cancelled
        try:
            outcome = await relay.deliver(turn.where, chunks, cancelled=cancelled)
            status = outcome.status
            return outcome
        finally:
            metrics.turn_finished(platform, status)

    async def new_conversation(self, where: ThreadRef, *, user: str, is_dm: bool) -> str:
        """Give the conversation a fresh agent session; returns the new session id."""
        return await self.gate.new_session(self.conversation_of(where, user=user, is_dm=is_dm))

    async def stop(self, where: ThreadRef, *, user: str, is_dm: bool) -> bool:
        """Cancel the reply streaming in this conversation, on whichever replica runs it."""
        return await self.gate.cancel(self.conversation_of(where, user=user, is_dm=is_dm))

    async def _post_quietly(self, where: ThreadRef, text: str) -> None:
        # A notice that cannot be posted is logged, never raised: the turn is over anyway.
        try:
            await self.relay.surface.post(where, self.relay.surface.render(text))
        except SurfaceError as exc:
            log.warning("could not post notice in %s: %s", where, exc)
