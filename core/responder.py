"""Answering one turn, end to end: access → check → dedup/session/lock → quota → route →
agent stream → relay → usage.

This is the only place where the core's parts meet; bots call :meth:`Responder.handle` for
every message they decide to answer, and :meth:`new_conversation` / :meth:`stop` for the
"new conversation" command and the Stop button. A bot that must act before the turn (a
Discord thread is opened on the message) asks :meth:`Responder.admit` first and passes the
decision to :meth:`handle`: nothing is said or opened where the user may not be answered.

Per turn, the configuration in force is read once (a snapshot) and carried, with the
admission made on it, in the turn's ``_Admitted`` value; the agent it chooses is passed
along as an argument. Nothing shared changes per turn.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
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
from core.inbound import check_inbound
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
from core.sessions.withdrawals import Withdrawals
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

TurnStatus = Literal[
    "answered", "replied", "duplicate", "withdrawn", "store_failed", "denied", "over_quota"
]


@dataclass(frozen=True, slots=True)
class TurnResult:
    """What happened to a turn.

    ``answered``: the agent was called (``outcome`` says how the reply ended; ``agent``
    names it); ``replied``: a friendly reply without the agent (empty or over-long
    message); ``duplicate``: a redelivered event, dropped; ``withdrawn``: its asker deleted
    the message before the agent was asked (:meth:`Responder.withdraw`), dropped quietly;
    ``store_failed``: Redis failed,
    a notice was posted instead; ``denied``: an access rule refused it (the user is told
    privately, once an hour); ``over_quota``: a quota refused it (a notice says when to
    try again).
    """

    status: TurnStatus
    conversation: str
    outcome: ReplyOutcome | None = None
    session_id: str | None = None
    agent: str | None = None


@dataclass(frozen=True, slots=True)
class _Admitted:
    """A turn the access rules admitted, with what every step of answering it reads. Made
    once per turn; ``turn`` is replaced once :data:`Ready` rewrote it, ``tracker`` set
    once the turn is tracked."""

    turn: Turn
    surface: ChatSurface
    """Where the reply and every notice of this turn go."""
    conversation: str
    """Its key (:func:`~core.sessions.keys.conversation_key`): one session, lock and agent."""
    snapshot: Snapshot
    """The configuration in force when the turn arrived: its agents, routes and quotas."""
    admission: Admission
    """The access rules' decision on the turn (an admin's turn takes no quota)."""
    tracker: ReplyTracker | None = None
    """Registers the turn for crash recovery until its reply is final (None: not tracked)."""


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
        self.withdrawals = Withdrawals(gate)
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
            surface = self.relay.surface if surface is None else surface
            await notices.refuse(surface, turn, admission)

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
        surface = self.relay.surface if surface is None else surface
        conversation = self.conversation_of(turn.where, user=turn.user, is_dm=turn.is_dm)
        # Every log line of this turn (relay and adapters included) carries its ids.
        with turn_context(conversation, turn.message_id):
            snapshot = self.governance.current()
            if admission is None:
                admission = admit(snapshot.deployment.config.access, turn)
            if not admission.allowed:
                await self.refuse(turn, admission, surface=surface)
                return TurnResult("denied", conversation)
            admitted = _Admitted(turn, surface, conversation, snapshot, admission)
            return await self._handle(admitted, ready)

    # --- an admitted turn's steps, in the order they run ---------------------------------

    async def _handle(self, admitted: _Admitted, ready: Ready | None) -> TurnResult:
        """A message the agent need not see (empty, too long) is answered here; any other
        is tracked for crash recovery until its reply is final."""
        text = await self._text_for_agent(admitted)
        if text is None:
            return TurnResult("replied", admitted.conversation)
        # Registered from now until its reply is final: if this process dies while the turn
        # waits or streams, another replica answers the user (core.ops.recovery).
        turn = admitted.turn
        tracker = begin_tracking(self.relay.observer, turn.where, since=turn.message_id)
        try:
            return await self._run(replace(admitted, tracker=tracker), text, ready)
        finally:
            if tracker is not None:
                tracker.finished()

    async def _text_for_agent(self, admitted: _Admitted) -> str | None:
        """The turn's message as the agent is to read it, or None: the agent need not see
        it (empty, or too long), and the user was answered here instead."""
        turn = admitted.turn
        text = turn.text
        if not text.strip() and turn.attachments:  # files and no words: still a question
            text = texts.files_only_text([a.name for a in turn.attachments])
        inbound = check_inbound(text, max_chars=self.max_input_chars)
        if inbound.reply is not None:
            await self._post_quietly(admitted, inbound.reply)
            return None
        return inbound.text

    async def _run(self, admitted: _Admitted, text: str, ready: Ready | None) -> TurnResult:
        """The turn in its conversation's order (the gate: dedup, session, lock), then its
        quota, its agent, the agent's answer and its usage."""
        conversation = admitted.conversation
        event_id = f"{admitted.turn.where.platform}:{admitted.turn.message_id}"
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
                    admitted = replace(admitted, turn=await ready(admitted.turn))
                waiting = False
                if ready is not None:  # its text, as the agent is to read it
                    ready_text = await self._text_for_agent(admitted)
                    if ready_text is None:
                        return TurnResult("replied", conversation)
                    text = ready_text
                # Safe to repeat; a message withdrawn before now never reaches the agent.
                if not await self.gate.ask(lambda: self.withdrawals.begin(ticket)):
                    log.info("event %s dropped: its message was deleted", event_id)
                    return TurnResult("withdrawn", conversation)
                grant = await self._take_quota(admitted)
                if isinstance(grant, QuotaRefusal):
                    usage_metrics.turn_refused(grant.kind)
                    log.info("turn refused: over the %s quota (%d)", grant.kind, grant.limit)
                    await self._post_quietly(admitted, grant.notice)
                    return TurnResult("over_quota", conversation)
                try:
                    choice = await self._agent_for(admitted, ticket)
                    outcome, usage = await self._answer(admitted, text, ticket, choice)
                    self._report_failure(admitted, outcome, choice.agent)
                finally:
                    await self._give_back(grant)
        except SessionStoreError as exc:
            log.error("session store failed for %s: %s", conversation, exc)
            await self._post_quietly(admitted, exc.notice)
            return TurnResult("store_failed", conversation)
        except asyncio.CancelledError as exc:
            if waiting and by_shutdown(exc):
                await self._post_quietly(admitted, NOT_ANSWERED)
            raise
        await self._record(usage, admitted.snapshot)
        return TurnResult("answered", conversation, outcome, ticket.session_id, choice.agent)

    async def _take_quota(self, admitted: _Admitted) -> QuotaGrant | QuotaRefusal:
        quotas = self.governance.quotas
        if quotas is None or admitted.admission.admin:  # admins are exempt
            return QuotaGrant()
        # Safe to repeat for one turn (a repeat counts nothing again), so a late answer in a
        # burst is asked for again with the gate's patience, not refused with a notice.
        turn, limits = admitted.turn, admitted.snapshot.deployment.config.quotas
        return await self.gate.ask(lambda: quotas.take(turn, limits))

    async def _give_back(self, grant: QuotaGrant) -> None:
        quotas = self.governance.quotas
        if quotas is None or grant.slot is None:
            return
        try:
            await quotas.release(grant)
        except SessionStoreError as exc:  # the slot expires by itself
            log.warning("could not release a reply slot: %s", exc)

    async def _agent_for(self, admitted: _Admitted, ticket: Ticket) -> RouteChoice:
        """The routes' choice, unless the conversation already has its agent."""
        turn, snapshot = admitted.turn, admitted.snapshot
        choice = choose_route(snapshot.deployment, turn)
        pins = self.governance.pins
        if pins is None:
            return choice
        await ticket.check_lock()  # the pin and the asker are the running turn's
        # Safe to repeat (it pins and records the same asker again), so a late answer in a
        # burst is asked for again with the gate's patience rather than refused with a notice.
        return await self.gate.ask(lambda: pins.start_turn(
            admitted.conversation, choice, known=snapshot.agents.keys(), user=turn.user,
            turn_number=ticket.turn_number,
        ))  # fmt: skip

    async def _answer(
        self, admitted: _Admitted, text: str, ticket: Ticket, choice: RouteChoice
    ) -> tuple[ReplyOutcome, TurnUsage]:
        """The chosen agent's reply to ``text``, delivered, and what the turn cost; the
        agent's client is leased for the reply (a reload meanwhile does not close it)."""
        turn = admitted.turn
        meter = ReplyMeter()
        with agent_context(choice.agent):
            log.info("answered by agent %s (route %s)", choice.agent, choice.route)
            async with admitted.snapshot.agent(choice.agent).lease() as agent:
                context = await self._context(admitted, ticket, agent)
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
                offer = self._feedback_offer(admitted.conversation, ticket, choice.agent)
                outcome = await self._deliver(admitted, watched, ticket, offer)
                if unreceived:
                    notice = [SkippedFile(name, texts.FILE_NOT_RECEIVED) for name in unreceived]
                    await self._post_quietly(admitted, texts.skipped_notice(notice))
        return outcome, _usage(turn, choice, text, meter, outcome)

    async def _context(
        self, admitted: _Admitted, ticket: Ticket, agent: Agent
    ) -> TurnContext | None:
        """The turn's context (the user is told of files the agent will not get); the
        marker moves to this turn just before the agent is called."""
        gatherer = self.context
        if gatherer is None:
            return None
        turn, conversation = admitted.turn, admitted.conversation
        kinds: frozenset[FileKind] = getattr(agent, "file_kinds", frozenset({"text"}))
        session_id = ticket.session_id
        context = await gatherer.gather(turn, conversation, session_id, accepts=kinds)
        await ticket.check_lock()  # the marker must not move back past a later turn's message
        if context.skipped:
            await self._post_quietly(admitted, texts.skipped_notice(context.skipped))
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

    async def _deliver(
        self,
        admitted: _Admitted,
        chunks: AsyncIterator[AgentStream],
        ticket: Ticket,
        offer: OfferFeedback | None,
    ) -> ReplyOutcome:
        """The relay's delivery of the reply, counted in the turn metrics (a task cancelled
        meanwhile counts as "cancelled"); a Stop that was the question's deletion ends it
        as such (:meth:`withdraw`)."""
        platform = admitted.turn.where.platform
        metrics.turn_started(platform)
        status = "cancelled"  # unless the relay returns: the task itself was cancelled
        try:
            # A shutdown's cancel ends the reply "interrupted", not "stopped".
            outcome = await self.relay.deliver(
                admitted.turn.where, chunks, cancelled=ticket.cancelled, offer_feedback=offer,
                tracker=admitted.tracker, interrupted_notice=INTERRUPTED,
                surface=admitted.surface,
                withdrawn=lambda: self.withdrawals.withdrawn(ticket.conversation, ticket.event_id),
            )  # fmt: skip
            status = outcome.status
            return outcome
        finally:
            metrics.turn_finished(platform, status)

    @staticmethod
    def _report_failure(admitted: _Admitted, outcome: ReplyOutcome, agent: str) -> None:
        """A turn the agent failed: once at WARNING with its kind, and counted, so the
        operator of a bot whose key was revoked (or whose agent is down) sees it."""
        error = outcome.error
        if outcome.status != "failed" or error is None:
            return
        turn = admitted.turn
        kind = agent_failure_kind(error)
        metrics.agent_failed(turn.where.platform, kind)
        log.warning(
            "agent %s failed (%s) in conversation %s, turn %s: %s",
            agent, kind, admitted.conversation, turn.message_id, error,
        )  # fmt: skip

    async def _record(self, usage: TurnUsage, snapshot: Snapshot) -> None:
        usage_metrics.agent_turn(usage)
        book = self.governance.usage
        if book is None:
            return
        try:
            await book.record(usage, retention_days=snapshot.deployment.config.usage.retention_days)
        except SessionStoreError as exc:  # the reply is delivered; only the figures miss it
            log.warning("usage not recorded: %s", exc)

    async def _post_quietly(self, admitted: _Admitted, text: str) -> None:
        # Through the budget and retried like a reply's post (under a flood a notice waits
        # its turn); one that still cannot be posted is logged, never raised.
        await self.relay.notify(admitted.turn.where, text, surface=admitted.surface)

    # --- the "new conversation" command and the Stop button ------------------------------

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

    async def withdraw(self, where: ThreadRef, *, user: str, is_dm: bool, message_id: str) -> bool:
        """``user`` deleted their message ``message_id``: its turn is dropped if the agent was
        not asked yet (now, or when a turn waiting in the thread's queue gets its place, or
        when a redelivered message comes after its deletion), and its reply stopped if it
        streams, wherever it runs (see :mod:`core.sessions.withdrawals`). True when a
        streaming reply was asked to stop. No access check: a person's own deletion is
        never refused."""
        conversation = self.conversation_of(where, user=user, is_dm=is_dm)
        event_id = f"{where.platform}:{message_id}"
        return await self.gate.ask(lambda: self.withdrawals.withdraw(conversation, event_id))

    def _acts_for_anyone(self, user: str) -> bool:
        """Whether ``user`` may stop or reset anyone's reply, not only their own: everyone
        may (``[access] stop = "anyone"``), or the user is an admin."""
        access = self.governance.current().deployment.config.access
        return access.stop == "anyone" or user in access.admins


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
