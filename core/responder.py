"""Answering one turn, end to end: access → check → dedup/session/lock → quota → route →
agent stream → relay → usage.

This is the only place where the core's parts meet; bots call :meth:`Responder.handle` for
every message they decide to answer, and :meth:`new_conversation` / :meth:`stop` for the
"new conversation" command and the Stop button. A bot that must act before the turn (a
Discord thread is opened on the message) asks :meth:`Responder.admit` first and passes the
decision to :meth:`handle`: nothing is said or opened where the user may not be answered.

Per turn, the configuration in force is read once (a snapshot), and what it decides — the
admission, the agent — is passed along as arguments; nothing shared changes per turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from core import texts
from core.agents.base import Agent
from core.config import SessionScope
from core.context.gather import ContextGatherer
from core.context.models import FILES_NOT_RECEIVED, FileKind, SkippedFile, TurnContext
from core.deployment.live import Snapshot
from core.errors import SessionStoreError, agent_failure_kind
from core.feedback.model import ReplyRef, ReplyTag
from core.feedback.service import Feedback
from core.governance.access import Admission, admit
from core.governance.controls import Controls, StopResult
from core.governance.policy import Governance
from core.governance.quotas import QuotaGrant, QuotaRefusal
from core.inbound import InboundCheck, check_inbound
from core.models import AgentStream
from core.ops import metrics
from core.ops.logs import agent_context, turn_context
from core.ops.tasks import by_shutdown
from core.redis import REDIS_PATIENCE, patiently
from core.relay.relay import OfferFeedback, Relay, ReplyOutcome
from core.relay.tracking import ReplyTracker, begin_tracking
from core.routing.routes import RouteChoice, choose_route
from core.sessions.gate import Ticket, TurnGate
from core.sessions.keys import conversation_key
from core.surface import ChatSurface, MessageRef
from core.texts import INTERRUPTED, NOT_ANSWERED
from core.turn import ThreadRef, Turn
from core.usage import metrics as usage_metrics
from core.usage.book import TurnUsage
from core.usage.meter import ReplyMeter, metered

__all__ = ["Ready", "Responder", "TurnResult"]

log = logging.getLogger(__name__)

Ready = Callable[[Turn], Awaitable[Turn]]
"""The turn as the agent is to read it, made once the turn has its place in its
conversation's order (under the conversation's lock, before routing, quotas and context):
what a bot finishes with a platform call (Slack names the people a message mentions) is
done here, so that a slow call never lets a later message of the thread overtake it (turns
run in arrival order: :mod:`core.sessions.gate`). Best effort, never raises: what cannot be
done leaves the turn as it was. Called at most once per turn; its text is checked again."""

TurnStatus = Literal["answered", "replied", "duplicate", "store_failed", "denied", "over_quota"]


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What happened to a turn.

    ``answered``: the agent was called (``outcome`` says how the reply ended; ``agent``
    names it); ``replied``: a friendly reply without the agent (empty or over-long
    message); ``duplicate``: a redelivered event, dropped; ``store_failed``: Redis failed,
    a notice was posted instead; ``denied``: an access rule refused it (the user is told
    privately, once an hour); ``over_quota``: a quota refused it (a notice says when to
    try again).
    """

    status: TurnStatus
    conversation: str
    outcome: ReplyOutcome | None = None
    session_id: str | None = None
    agent: str | None = None


class Responder:
    """Turns a :class:`Turn` into a streamed reply on the relay's surface.

    ``governance``: the deployment's agents, rules, quotas and usage books; or ``agent``:
    that one agent answers every turn, nothing restricted or counted.
    """

    def __init__(
        self,
        *,
        gate: TurnGate,
        relay: Relay,
        max_input_chars: int,
        session_scope: SessionScope = "thread",
        response_format: type[BaseModel] | None = None,
        agent: Agent | None = None,
        governance: Governance | None = None,
        context: ContextGatherer | None = None,
        feedback: Feedback | None = None,
    ) -> None:
        if governance is None:
            if agent is None:
                raise ValueError("a Responder needs an agent or a governance")
            governance = Governance.single(agent)
        self.governance = governance
        self.gate = gate
        self.controls = Controls(gate)
        self.relay = relay
        self.max_input_chars = max_input_chars
        self.session_scope = session_scope
        self.response_format = response_format
        self.context = context
        """Reads the thread's earlier messages and the user's files (None: neither)."""
        self.feedback = feedback
        """Votes on replies; None: replies carry no feedback controls."""

    def conversation_of(self, where: ThreadRef, *, user: str, is_dm: bool) -> str:
        return conversation_key(where, user=user, is_dm=is_dm, scope=self.session_scope)

    def admit(self, turn: Turn) -> Admission:
        """Whether the access rules let ``turn`` be answered (no I/O)."""
        return admit(self.governance.current().deployment.config.access, turn)

    async def refuse(
        self, turn: Turn, admission: Admission, *, surface: ChatSurface | None = None
    ) -> None:
        """Tell the user privately why ``turn`` is not answered (at most once an hour)."""
        usage_metrics.turn_refused(admission.reason or "user")
        notices = self.governance.notices
        if notices is not None:
            await notices.refuse(surface or self.relay.surface, turn, admission)

    async def handle(
        self,
        turn: Turn,
        *,
        admission: Admission | None = None,
        surface: ChatSurface | None = None,
        ready: Ready | None = None,
    ) -> TurnResult:
        """Answer ``turn``; ``admission``: the decision of :meth:`admit` when the bot
        asked already (else it is made here); ``surface``: where this turn's reply and
        notices go when not on the relay's own surface (Slack: a view of it that knows the
        turn's recipient); ``ready``: see :data:`Ready`."""
        on = self.relay.surface if surface is None else surface
        conversation = self.conversation_of(turn.where, user=turn.user, is_dm=turn.is_dm)
        # Every log line of this turn (relay and adapters included) carries its ids.
        with turn_context(conversation, turn.message_id):
            snapshot = self.governance.current()
            if admission is None:
                admission = admit(snapshot.deployment.config.access, turn)
            if not admission.allowed:
                await self.refuse(turn, admission, surface=on)
                return TurnResult("denied", conversation)
            return await self._handle(turn, on, conversation, snapshot, admission, ready)

    async def _handle(
        self,
        turn: Turn,
        surface: ChatSurface,
        conversation: str,
        snapshot: Snapshot,
        admission: Admission,
        ready: Ready | None,
    ) -> TurnResult:
        """An admitted turn: a message the agent need not see (empty, too long) is answered
        here; any other is tracked for crash recovery until its reply is final."""
        inbound = self._checked(turn)
        if inbound.reply is not None:
            await self._post_quietly(turn, surface, inbound.reply)
            return TurnResult("replied", conversation)
        event_id = f"{turn.where.platform}:{turn.message_id}"
        # Registered from now until its reply is final: if this process dies while the turn
        # waits or streams, another replica answers the user (core.ops.recovery).
        tracker = begin_tracking(self.relay.observer, turn.where, since=turn.message_id)
        try:
            return await self._run(turn, surface, conversation, snapshot, admission,
                                   inbound.text, event_id, tracker, ready)  # fmt: skip
        finally:
            if tracker is not None:
                tracker.finished()

    def _checked(self, turn: Turn) -> InboundCheck:
        text = turn.text
        if not text.strip() and turn.attachments:  # files and no words: still a question
            text = texts.files_only_text([a.name for a in turn.attachments])
        return check_inbound(text, max_chars=self.max_input_chars)

    async def _run(
        self, turn: Turn, surface: ChatSurface, conversation: str, snapshot: Snapshot,
        admission: Admission, text: str, event_id: str, tracker: ReplyTracker | None,
        ready: Ready | None,
    ) -> TurnResult:  # fmt: skip
        """The turn in its conversation's order (the gate: dedup, session, lock), then its
        quota, its agent, the agent's answer and its usage."""
        # A shutdown may stop this turn while it still waits behind another in its thread,
        # or while it is made ready (nothing of it has reached the agent yet either): the
        # user is then told to send it again, not left without an answer.
        waiting = True
        try:
            async with self.gate.enter(conversation, event_id) as ticket:
                if ticket is None:
                    waiting = False
                    log.info("duplicate event %s dropped", event_id)
                    return TurnResult("duplicate", conversation)
                if ready is not None:  # its place in the order is taken: see Ready
                    turn = await ready(turn)
                waiting = False
                if ready is not None:  # its text, as the agent is to read it
                    inbound = self._checked(turn)
                    if inbound.reply is not None:
                        await self._post_quietly(turn, surface, inbound.reply)
                        return TurnResult("replied", conversation)
                    text = inbound.text
                grant = await self._take_quota(turn, snapshot, admission)
                if isinstance(grant, QuotaRefusal):
                    usage_metrics.turn_refused(grant.kind)
                    log.info("turn refused: over the %s quota (%d)", grant.kind, grant.limit)
                    await self._post_quietly(turn, surface, grant.notice)
                    return TurnResult("over_quota", conversation)
                try:
                    choice = await self._agent_for(turn, conversation, ticket, snapshot)
                    outcome, usage = await self._answer(
                        turn, surface, text, ticket, choice, snapshot, conversation, tracker
                    )
                    self._report_failure(turn, conversation, outcome, choice.agent)
                finally:
                    await self._give_back(grant)
        except SessionStoreError as exc:
            log.error("session store failed for %s: %s", conversation, exc)
            await self._post_quietly(turn, surface, exc.notice)
            return TurnResult("store_failed", conversation)
        except asyncio.CancelledError as exc:
            if waiting and by_shutdown(exc):
                await self._post_quietly(turn, surface, NOT_ANSWERED)
            raise
        await self._record(usage, snapshot)
        return TurnResult("answered", conversation, outcome, ticket.session_id, choice.agent)

    async def _take_quota(
        self, turn: Turn, snapshot: Snapshot, admission: Admission
    ) -> QuotaGrant | QuotaRefusal:
        quotas = self.governance.quotas
        if quotas is None or admission.admin:  # admins are exempt
            return QuotaGrant()
        # Safe to repeat for one turn (a repeat counts nothing again), so a late answer in a
        # burst is asked for again with the gate's patience, not refused with a notice.
        limits = snapshot.deployment.config.quotas
        return await self.gate.ask(lambda: quotas.take(turn, limits))

    async def _give_back(self, grant: QuotaGrant) -> None:
        quotas = self.governance.quotas
        if quotas is None or grant.slot is None:
            return
        try:
            await quotas.release(grant)
        except SessionStoreError as exc:  # the slot expires by itself
            log.warning("could not release a reply slot: %s", exc)

    async def _agent_for(
        self, turn: Turn, conversation: str, ticket: Ticket, snapshot: Snapshot
    ) -> RouteChoice:
        """The routes' choice, unless the conversation already has its agent."""
        choice = choose_route(snapshot.deployment, turn)
        pins = self.governance.pins
        if pins is None:
            return choice
        await ticket.check_lock()  # the pin and the asker are the running turn's
        # Safe to repeat (it pins and records the same asker again), so a late answer in a
        # burst is asked for again with the gate's patience rather than refused with a notice.
        return await self.gate.ask(lambda: pins.start_turn(
            conversation, choice, known=snapshot.agents.keys(), user=turn.user,
            turn_number=ticket.turn_number,
        ))  # fmt: skip

    async def _answer(
        self,
        turn: Turn,
        surface: ChatSurface,
        text: str,
        ticket: Ticket,
        choice: RouteChoice,
        snapshot: Snapshot,
        conversation: str,
        tracker: ReplyTracker | None,
    ) -> tuple[ReplyOutcome, TurnUsage]:
        meter = ReplyMeter()
        with agent_context(choice.agent):
            log.info("answered by agent %s (route %s)", choice.agent, choice.route)
            async with snapshot.agent(choice.agent).lease() as agent:
                context = await self._context(turn, surface, conversation, ticket, agent)
                if context is not None and context.skipped:  # the agent knows they exist
                    names = [skipped.name for skipped in context.skipped]
                    text = f"{text}\n\n{texts.not_passed_on(names)}"
                # Only agents that take context are given the keyword (scripted test agents
                # and older backends keep working).
                extra = {"context": context} if context else {}
                # The point of no return: past it, the agent has the message and the reply
                # is shown in full whatever becomes of the lock (core.sessions.lock).
                await ticket.check_lock()
                chunks = agent.stream(
                    text,
                    session_id=ticket.session_id,
                    user_id=turn.user,
                    response_format=self.response_format,
                    **extra,
                )
                unreceived: list[str] = []
                watched = _unreceived_files(metered(chunks, meter), unreceived)
                offer = self._feedback_offer(conversation, ticket, choice.agent)
                outcome = await self._deliver(
                    turn, surface, watched, ticket.cancelled, offer, tracker
                )
                if unreceived:
                    notice = [SkippedFile(name, texts.FILE_NOT_RECEIVED) for name in unreceived]
                    await self._post_quietly(turn, surface, texts.skipped_notice(notice))
        return outcome, _usage(turn, choice, text, meter, outcome)

    @staticmethod
    def _report_failure(turn: Turn, conversation: str, outcome: ReplyOutcome, agent: str) -> None:
        """A turn the agent failed: once at WARNING with its kind, and counted, so the
        operator of a bot whose key was revoked (or whose agent is down) sees it."""
        error = outcome.error
        if outcome.status != "failed" or error is None:
            return
        kind = agent_failure_kind(error)
        metrics.agent_failed(turn.where.platform, kind)
        log.warning(
            "agent %s failed (%s) in conversation %s, turn %s: %s",
            agent, kind, conversation, turn.message_id, error,
        )  # fmt: skip

    async def _context(
        self, turn: Turn, surface: ChatSurface, conversation: str, ticket: Ticket, agent: Agent
    ) -> TurnContext | None:
        """The turn's context (the user is told of files the agent will not get); the
        marker moves to this turn just before the agent is called."""
        gatherer = self.context
        if gatherer is None:
            return None
        kinds: frozenset[FileKind] = getattr(agent, "file_kinds", frozenset({"text"}))
        session_id = ticket.session_id
        context = await gatherer.gather(turn, conversation, session_id, accepts=kinds)
        await ticket.check_lock()  # the marker must not move back past a later turn's message
        if context.skipped:
            await self._post_quietly(turn, surface, texts.skipped_notice(context.skipped))
        await gatherer.handed(turn, conversation, session_id)
        return context

    def _feedback_offer(
        self, conversation: str, ticket: Ticket, agent: str
    ) -> OfferFeedback | None:
        """Record the reply before its controls show, so a vote names its conversation,
        session and agent; a Redis failure means no controls (never a failed turn). A Redis
        that only answers late (a burst: a busy pool or event loop) is asked again (the
        write is idempotent) until the relay's bound on the record is spent."""
        feedback = self.feedback
        if feedback is None:
            return None

        async def offer(message: MessageRef) -> bool:
            where = message.where
            ref = ReplyRef(where.platform, where.workspace, where.channel, message.message_id)
            tag = ReplyTag(ref, where.thread, conversation, ticket.session_id, agent)
            try:
                await patiently(lambda: feedback.offer(tag), patience=REDIS_PATIENCE)
            except SessionStoreError as exc:
                log.warning("feedback controls not offered: %s", exc)
                return False
            return True

        return offer

    async def _record(self, usage: TurnUsage, snapshot: Snapshot) -> None:
        usage_metrics.agent_turn(usage)
        book = self.governance.usage
        if book is None:
            return
        try:
            await book.record(usage, retention_days=snapshot.deployment.config.usage.retention_days)
        except SessionStoreError as exc:  # the reply is delivered; only the figures miss it
            log.warning("usage not recorded: %s", exc)

    async def _deliver(
        self,
        turn: Turn,
        surface: ChatSurface,
        chunks: AsyncIterator[AgentStream],
        cancelled: asyncio.Event,
        offer: OfferFeedback | None,
        tracker: ReplyTracker | None,
    ) -> ReplyOutcome:
        """The relay's delivery of the reply, counted in the turn metrics (a task cancelled
        meanwhile counts as "cancelled")."""
        platform = turn.where.platform
        metrics.turn_started(platform)
        status = "cancelled"  # unless the relay returns: the task itself was cancelled
        try:
            # A shutdown's cancel ends the reply "interrupted", not "stopped".
            outcome = await self.relay.deliver(
                turn.where, chunks, cancelled=cancelled, offer_feedback=offer, tracker=tracker,
                interrupted_notice=INTERRUPTED, surface=surface,
            )  # fmt: skip
            status = outcome.status
            return outcome
        finally:
            metrics.turn_finished(platform, status)

    async def new_conversation(self, where: ThreadRef, *, user: str, is_dm: bool) -> str | None:
        """Give the conversation a fresh agent session; returns the new session id, or
        None when ``user`` may not (``[access] stop`` and ``admins``)."""
        anyone = self._acts_for_anyone(user)
        conversation = self.conversation_of(where, user=user, is_dm=is_dm)
        return await self.controls.reset(conversation, user=user, any_conversation=anyone)

    async def stop(self, where: ThreadRef, *, user: str, is_dm: bool) -> StopResult:
        """Stop the reply streaming in this conversation, on whichever replica runs it, if
        ``user`` may (``[access] stop`` and ``admins``)."""
        anyone = self._acts_for_anyone(user)
        conversation = self.conversation_of(where, user=user, is_dm=is_dm)
        return await self.controls.stop(conversation, user=user, any_reply=anyone)

    def _acts_for_anyone(self, user: str) -> bool:
        """Whether ``user`` may stop or reset anyone's reply, not only their own: everyone
        may (``[access] stop = "anyone"``), or the user is an admin."""
        access = self.governance.current().deployment.config.access
        return access.stop == "anyone" or user in access.admins

    async def _post_quietly(self, turn: Turn, surface: ChatSurface, text: str) -> None:
        # Through the budget and retried like a reply's post (under a flood a notice waits
        # its turn); one that still cannot be posted is logged, never raised.
        await self.relay.notify(turn.where, text, surface=surface)


def _usage(
    turn: Turn, choice: RouteChoice, text: str, meter: ReplyMeter, outcome: ReplyOutcome
) -> TurnUsage:
    """What the turn cost, as the usage book records it (``text``: what the agent read)."""
    where = turn.where
    return TurnUsage(
        agent=choice.agent,
        route=choice.route,
        channel=f"{where.platform}/{where.workspace}/{turn.channel}",
        user=f"{where.platform}/{turn.user}",
        chars_in=len(text),
        chars_out=meter.chars_out,
        agent_seconds=meter.agent_seconds,
        time_to_first_token=meter.time_to_first_token,
        error=outcome.status == "failed",
    )


async def _unreceived_files(
    chunks: AsyncIterator[AgentStream], sink: list[str]
) -> AsyncIterator[AgentStream]:
    """``chunks`` unchanged; the names of files the agent said it did not receive (Lyzr's
    asset upload, on the final chunk) are collected into ``sink``."""
    try:
        async for chunk in chunks:
            if chunk.done:
                names = chunk.metadata.get(FILES_NOT_RECEIVED)
                if isinstance(names, list):
                    sink.extend(str(n) for n in names)
            yield chunk
    finally:
        closer = getattr(chunks, "aclose", None)
        if closer is not None:
            await closer()
