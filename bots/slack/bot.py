"""``SlackBot``: bolt's listeners, wired to the core.

bolt acknowledges every event first (``process_before_response=False``) and then calls
the listener; a listener here only decides (:func:`~bots.slack.events.read_event`) and
starts the turn as a task of its own, kept in :attr:`SlackBot.tasks`, so a reply streaming
for minutes never holds bolt up, and shutdown can wait for replies, or stop them.

One responder answers every turn; each turn's reply goes to a view of the surface that
knows the user (native streams are addressed to them), passed to
:meth:`~core.responder.Responder.handle` with the turn. The Stop button (and the ``stop``
word) stops the conversation's running reply through the turn gate, so it works whichever
replica runs it; so does a person deleting the question a reply answers
(:meth:`SlackBot._withdraw`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import Any

from slack_bolt.async_app import AsyncApp

from adapters.slack.blocks import FEEDBACK_ACTION_ID, STOP_ACTION_ID, home_view
from adapters.slack.mrkdwn import to_mrkdwn
from adapters.slack.surface import SlackSurface
from adapters.slack.wire import mentioned_users, readable
from bots.slack import texts
from bots.slack.answered import AnsweredMarks
from bots.slack.assistant import (
    AssistantOptions,
    RedisThreadContexts,
    assistant_for,
    context_note,
    title_of,
)
from bots.slack.commands import COMMAND, SlashCommands
from bots.slack.events import BotIdentity, EventFilter, Inbound, read_deletion, read_event
from bots.slack.follow_ups import FollowUps
from bots.slack.latest import LatestThreads
from bots.slack.reasons import REASON_CALLBACK, read_submission, reason_modal
from core.context.source import ContextSource
from core.errors import SessionStoreError, SurfaceError, ThreadcastError
from core.feedback.model import ReplyRef, VoteValue, vote_value
from core.inbound import invalid_ids
from core.ops.tasks import TurnTasks
from core.responder import Responder
from core.runtime import Runtime
from core.texts import (
    FEEDBACK_NOT_RECORDED,
    NOT_YOURS_TO_RESET,
    NOT_YOURS_TO_STOP,
    REASON_SAVED,
    thanks,
)
from core.turn import ThreadRef, Turn

__all__ = ["SlackBot"]

log = logging.getLogger(__name__)


class SlackBot:
    """Registers its listeners on ``app``; see the module docstring."""

    def __init__(
        self,
        app: AsyncApp,
        runtime: Runtime,
        surface: SlackSurface,
        identity: BotIdentity,
        rules: EventFilter | None = None,
        context: ContextSource | None = None,
        assistant: AssistantOptions | None = None,
        names: Callable[[list[str]], Awaitable[Mapping[str, str]]] | None = None,
    ) -> None:
        self.app = app
        self.names = names  # users' display names, for mentions sent as ids only
        self.context = context  # the thread's earlier messages and users' files
        self.runtime = runtime
        self.surface = surface
        self.identity = identity
        self.rules = rules or EventFilter()
        self.responder: Responder = runtime.responder(surface, context=context)
        gate = self.responder.gate
        # This bot's unfinished replies only: another app on the same Redis has its own.
        surface.me = (identity.user_id, identity.bot_id)
        runtime.recover("slack", f"{identity.team_id}-{identity.user_id}", surface)
        self.answered = AnsweredMarks(gate.sessions)
        relay = self.responder.relay
        self.follow_ups = FollowUps(
            gate, looks=lambda where: relay.read(where, lambda: surface.has_posted(where))
        )
        self.tasks = TurnTasks()
        surface.on_give_up = self._give_up  # every turn's reply on it may ask
        self.feedback = runtime.feedback
        self.latest = LatestThreads(runtime.redis, namespace=gate.namespace, ttl=gate.sessions.ttl)
        self.commands = SlashCommands(self.responder, self.latest, self._spawn)
        self._listen(app)
        self.contexts: RedisThreadContexts | None = None
        if assistant is not None:
            self.contexts = RedisThreadContexts(
                runtime.redis, namespace=gate.namespace, ttl=gate.sessions.ttl
            )
            # bolt middleware: it sees every event before any listener (whatever the order
            # of registration) and answers the assistant threads' own.
            app.assistant(assistant_for(assistant, self.contexts, self._on_assistant_message))

    def _listen(self, app: AsyncApp) -> None:
        """Register the listeners. bolt runs the first one that matches a request
        (``AsyncApp.async_dispatch``), so the catch-all for events comes after the events
        handled; global middleware runs first, in the order registered."""
        app.use(self._see_deletions)  # before the assistant's (registered after this)
        app.event("app_home_opened")(self._on_home)
        app.event("app_mention")(self._on_event)
        app.event("message")(self._on_event)
        # Every other event is acknowledged and dropped: bolt answers an event nobody
        # listens to with 404, and Slack retries it (and bolt logs it) three times.
        app.event(re.compile(".*"))(self._ignore)
        app.action(STOP_ACTION_ID)(self._on_stop_click)
        app.action(FEEDBACK_ACTION_ID)(self._on_feedback)
        app.view(REASON_CALLBACK)(self._on_reason)
        app.command(COMMAND)(self.commands.on_command)

    # --- bolt listeners (they return at once) --------------------------------------------

    def _inbound(self, body: dict[str, Any], event: dict[str, Any]) -> Inbound | None:
        """The turn an event asks for, or None: not for the bot, or nothing can be posted
        (a refused token: the agent is not asked; logged once, /readyz 503)."""
        if self.surface.api.token_problem is not None:
            return None
        team = body.get("team_id")
        return read_event(
            event, team_id=team if isinstance(team, str) else None, bot=self.identity,
            rules=self.rules,
        )  # fmt: skip

    async def _see_deletions(
        self, body: dict[str, Any], next_: Callable[[], Awaitable[Any]]
    ) -> None:
        """bolt middleware, ahead of every other: a person's deleted question is withdrawn
        (:meth:`_withdraw`). A middleware, not a listener: bolt's assistant middleware acks
        and drops ``message_deleted`` / ``message_changed`` in assistant threads before any
        listener sees them (``is_other_message_sub_event_in_assistant_thread``)."""
        event = body.get("event")
        if body.get("type") == "event_callback" and isinstance(event, dict):
            team = body.get("team_id")
            deleted = read_deletion(
                event, team_id=team if isinstance(team, str) else None, bot=self.identity,
                rules=self.rules,
            )  # fmt: skip
            if deleted is not None:
                self._spawn(self._withdraw(deleted), f"slack-withdraw-{deleted.turn.message_id}")
        await next_()

    async def _on_event(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        inbound = self._inbound(body, event)
        if inbound is not None:
            self._spawn(self._answer(inbound), f"slack-turn-{inbound.turn.message_id}")

    async def _on_assistant_message(
        self,
        body: dict[str, Any],
        event: dict[str, Any],
        set_title: Callable[..., Awaitable[Any]],
    ) -> None:
        """A person's message in an assistant thread (see :mod:`bots.slack.assistant`)."""
        inbound = self._inbound(body, event)
        if inbound is not None:
            name = f"slack-assistant-{inbound.turn.message_id}"
            self._spawn(self._answer(inbound, set_title=set_title), name)

    async def _on_home(self, event: dict[str, Any]) -> None:
        """The App Home tab shows how to use the bot (published each time it is opened:
        one ``views.publish``, Tier 4)."""
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str):
            return
        if invalid_ids(user=user):
            return
        self._spawn(self._publish_home(user), f"slack-home-{user}")

    async def _publish_home(self, user: str) -> None:
        try:
            await self.surface.api.publish_home(user, home_view(to_mrkdwn(texts.HOME)))
        except SurfaceError as exc:
            log.warning("could not publish the App Home of %s: %s", user, exc)

    @staticmethod
    async def _ignore() -> None:
        return None

    async def _on_stop_click(self, ack: Any, body: dict[str, Any]) -> None:
        await ack()
        container = body.get("container") or {}
        channel = container.get("channel_id")
        # The container's thread, else the one the Stop button's value names, else the message.
        thread = (container.get("thread_ts") or _action_value(body, STOP_ACTION_ID)
                  or container.get("message_ts"))  # fmt: skip
        user = (body.get("user") or {}).get("id")
        team = (body.get("team") or {}).get("id") or self.identity.team_id
        if invalid_ids(channel=channel, thread=thread, user=user, team=team) or not (
            isinstance(channel, str) and isinstance(thread, str) and isinstance(user, str)
        ):
            log.warning("Stop click without a valid channel, thread or user: ignored")
            return
        where = ThreadRef("slack", str(team), channel, thread)
        self._spawn(self._stop(where, user, announce=False), f"slack-stop-{channel}:{thread}")

    async def _on_feedback(self, ack: Any, body: dict[str, Any]) -> None:
        """👍 / 👎 on a reply: recorded, and acknowledged to the voter only."""
        await ack()
        container = body.get("container") or {}
        channel, ts = container.get("channel_id"), container.get("message_ts")
        thread = container.get("thread_ts") or ts
        user = (body.get("user") or {}).get("id")
        team = (body.get("team") or {}).get("id") or self.identity.team_id
        vote = vote_value(_action_value(body, FEEDBACK_ACTION_ID))
        if (
            self.feedback is None
            or vote is None
            or invalid_ids(channel=channel, thread=thread, user=user, team=team)
            or not (isinstance(channel, str) and isinstance(ts, str) and isinstance(user, str))
        ):
            log.warning("feedback click without a vote, channel, message or user: ignored")
            return
        where = ThreadRef("slack", str(team), channel, thread)
        ref = ReplyRef("slack", str(team), channel, ts)
        trigger = body.get("trigger_id")
        click = None
        if vote == "down" and isinstance(trigger, str):
            # First: the trigger expires 3 s after the click (see bots.slack.reasons).
            click = secrets.token_hex(8)
            modal = reason_modal(str(team), channel, thread, ts, click)
            try:
                await self.surface.api.open_view(trigger, modal)
            except SurfaceError as exc:
                log.warning("could not ask why (👎): %s", exc)
        self._spawn(self._vote(where, ref, user, vote, click), f"slack-feedback-{channel}:{ts}")

    async def _on_reason(self, ack: Any, body: dict[str, Any]) -> None:
        """The 👎 modal submitted: the reason joins the vote."""
        await ack()
        found = read_submission(body)
        user = (body.get("user") or {}).get("id")
        if self.feedback is None or found is None or not isinstance(user, str):
            return
        about, reason = found
        team, channel, message = about.get("team"), about.get("channel"), about.get("message")
        thread = about.get("thread") or message
        if invalid_ids(channel=channel, thread=thread, user=user, team=team) or not (
            isinstance(team, str) and isinstance(channel, str) and isinstance(message, str)
        ):
            return
        where = ThreadRef("slack", team, channel, thread)
        ref = ReplyRef("slack", team, channel, message)
        click = about.get("click")
        asked = click if isinstance(click, str) and click else None  # None: an older modal
        self._spawn(self._reason(where, ref, user, reason, asked),
                    f"slack-reason-{channel}:{message}")  # fmt: skip

    async def _reason(
        self, where: ThreadRef, ref: ReplyRef, user: str, reason: str, asked: str | None
    ) -> None:
        """The reason stored, and thanks for it. Nothing is said when it is not stored
        because the reply can no longer be rated, nor when the 👎 it answers was taken back
        (a 👍 since, on another client: ``stale``): like an empty "why?", a modal that
        records nothing closes in silence, and the 👍, thanked on its click, stands."""
        assert self.feedback is not None
        try:
            result = await self.feedback.reason(ref, user, reason, asked=asked)
        except ThreadcastError as exc:
            log.error("could not record a feedback reason on %s: %s", ref.message, exc)
            await self._tell(where, user, FEEDBACK_NOT_RECORDED, about="")
            return
        if result.status not in ("unknown", "stale"):
            await self._tell(where, user, REASON_SAVED, about="")

    async def _vote(
        self, where: ThreadRef, ref: ReplyRef, user: str, vote: VoteValue, click: str | None
    ) -> None:
        assert self.feedback is not None
        try:
            result = await self.feedback.vote(ref, user, vote, click=click)
        except ThreadcastError as exc:
            log.error("could not record feedback on %s: %s", ref.message, exc)
            await self._tell(where, user, FEEDBACK_NOT_RECORDED, about="")
            return
        if result.status != "same":
            await self._tell(where, user, thanks(vote, result.status), about="")

    # --- turns ---------------------------------------------------------------------------

    async def _answer(
        self, inbound: Inbound, *, set_title: Callable[..., Awaitable[Any]] | None = None
    ) -> None:
        """A message for the bot: dropped if it was answered already (or is a follow-up
        the bot need not answer), else its command is run or the agent asked."""
        turn = inbound.turn
        try:
            conversation = self._conversation(turn)
            if inbound.follow_up:
                verdict = await self.follow_ups.verdict(conversation, turn.message_id,
                                                        turn.where)  # fmt: skip
                if verdict == "store-down":  # the bot's thread, and no session to go on
                    await self._say(turn.where, SessionStoreError.notice)
                if verdict != "answer":
                    return
            if not await self._first_answer(inbound, conversation):
                return
            if inbound.command == "new":
                await self._new_conversation(turn)
            elif inbound.command == "stop":
                await self._stop(turn.where, turn.user, announce=True, is_dm=turn.is_dm)
            else:
                await self._ask_agent(inbound, conversation, set_title)
        except ThreadcastError as exc:
            log.error("turn %s failed: %s", turn.message_id, exc)

    async def _withdraw(self, inbound: Inbound) -> None:
        """A person deleted their message (see :func:`~bots.slack.events.read_deletion`):
        never sent to the agent if it was not yet (a turn still queued, or the message
        itself redelivered after its deletion), its reply stopped if it streams. The
        reply shown so far ends with a notice in the thread that keeps it (a deleted thread
        parent with replies stays as a tombstone with its thread); nothing is posted when
        nothing was shown (a parent without replies takes its thread with it). A command
        word deleted had nothing to withdraw: it ran when it came."""
        turn = inbound.turn
        if inbound.command is not None:
            return
        try:
            stopped = await self.responder.withdraw(
                turn.where, user=turn.user, is_dm=turn.is_dm, message_id=turn.message_id
            )
        except ThreadcastError as exc:
            log.error("could not withdraw the deleted message %s: %s", turn.message_id, exc)
            return
        log.info("message %s deleted%s", turn.message_id, ": its reply stopped" if stopped else "")

    def _conversation(self, turn: Turn) -> str:
        return self.responder.conversation_of(turn.where, user=turn.user, is_dm=turn.is_dm)

    async def _first_answer(self, inbound: Inbound, conversation: str) -> bool:
        """Whether this message was never answered (and now is): see
        :mod:`bots.slack.answered`. Edits fail closed, other messages open: when Redis
        fails, the responder answers with its notice."""
        turn = inbound.turn
        if inbound.edited and self.answered.too_old_to_edit(inbound.ts):
            log.info("edit of %s ignored: older than the edit window", turn.message_id)
            return False
        try:
            first = await self.answered.claim(conversation, turn.message_id)
        except SessionStoreError as exc:
            log.warning("could not mark %s as answered: %s", turn.message_id, exc)
            return not inbound.edited
        if not first:
            log.info("%s already answered: %s dropped", turn.message_id,
                     "edit" if inbound.edited else "duplicate")  # fmt: skip
        return first

    async def _new_conversation(self, turn: Turn) -> None:
        """The ``new`` word: a fresh session for the conversation, confirmed in the thread
        (or the user told privately that it is not theirs to reset)."""
        try:
            fresh = await self.responder.new_conversation(
                turn.where, user=turn.user, is_dm=turn.is_dm
            )
        except SessionStoreError as exc:  # the user is told, not left waiting
            log.error("could not start a new conversation for %s: %s", turn.message_id, exc)
            await self._say(turn.where, SessionStoreError.notice)
            return
        if fresh is None:
            await self._tell(turn.where, turn.user, NOT_YOURS_TO_RESET, turn.message_id)
        else:
            await self._say(turn.where, texts.NEW_SESSION)

    async def _ask_agent(
        self,
        inbound: Inbound,
        conversation: str,
        set_title: Callable[..., Awaitable[Any]] | None,
    ) -> None:
        """The turn answered by the responder, on a view of the surface addressed to its
        user; what needs a Slack call (names, the assistant thread's title and context) is
        done once the turn has its place in the thread's order (:data:`core.responder.Ready`)."""
        turn = inbound.turn
        self.follow_ups.answering(conversation)
        await self._remember_thread(turn)
        new = set_title is not None and await self._starts_thread(turn)

        async def ready(turn: Turn) -> Turn:  # under the conversation's lock
            turn = await self._with_names(inbound, turn)
            if set_title is not None:
                turn = await self._in_assistant_thread(turn, set_title, new=new)
            return turn

        view = self.surface.for_recipient(turn.user, team=inbound.user_team)
        result = await self.responder.handle(turn, surface=view, ready=ready)
        log.info("turn %s: %s", turn.message_id, result.status)

    async def _remember_thread(self, turn: Turn) -> None:
        """For ``/threadcast``, which names no thread (see :mod:`bots.slack.latest`)."""
        where = turn.where
        if where.thread is None:
            return
        try:
            await self.latest.remember(where.workspace, where.channel, turn.user, where.thread)
        except SessionStoreError as exc:  # only the slash command loses its target
            log.warning("could not remember the thread of %s: %s", turn.message_id, exc)

    async def _starts_thread(self, turn: Turn) -> bool:
        """Whether ``turn`` starts its assistant thread (asked before the turn creates its
        conversation); a Redis that does not answer says no (the thread stays untitled)."""
        try:
            return not await self.follow_ups.has_conversation(self._conversation(turn))
        except SessionStoreError as exc:
            log.warning("could not tell whether %s starts its thread: %s", turn.message_id, exc)
            return False

    async def _with_names(self, inbound: Inbound, turn: Turn) -> Turn:
        """``turn`` with the people its text mentions by id only (``<@U123>``, how Slack
        sends a mention) named as the asker saw them, ``@Bob``; best effort: a name that
        cannot be read stays the id. Slack calls (``users.info``): made once the turn has
        its place in the thread's order (:data:`core.responder.Ready`)."""
        users = mentioned_users(inbound.raw_text, self.identity.user_id)
        if self.names is None or not users:
            return turn
        try:
            async with asyncio.timeout(self.surface.config.call_timeout):
                names = await self.names(users)
        except Exception as exc:
            log.warning("could not name the users %s mentions: %r", turn.message_id, exc)
            return turn
        text = readable(inbound.raw_text, self.identity.user_id, names)
        return dataclasses.replace(turn, text=text)

    async def _in_assistant_thread(
        self, turn: Turn, set_title: Callable[..., Awaitable[Any]], *, new: bool
    ) -> Turn:
        """Title a ``new`` assistant thread after its first message, and tell the agent
        which channel the person is viewing (both best effort: the message is answered)."""
        if new:
            try:
                async with asyncio.timeout(self.surface.config.call_timeout):
                    await set_title(title_of(turn.text))
            except Exception as exc:
                log.warning("could not title the assistant thread: %r", exc)
        if self.contexts is None or turn.where.thread is None:
            return turn
        context = await self.contexts.find(channel_id=turn.where.channel,
                                           thread_ts=turn.where.thread)  # fmt: skip
        note = context_note(context, await self._channel_name(context))
        return turn if note is None else dataclasses.replace(turn, text=f"{turn.text}\n\n{note}")

    async def _channel_name(self, context: dict[str, Any] | None) -> str | None:
        """The viewed channel's name, if the app may see it (conversations.info, as
        Slack advises before using the context)."""
        channel = (context or {}).get("channel_id")
        if not isinstance(channel, str):
            return None
        try:
            async with asyncio.timeout(self.surface.config.call_timeout):
                answer = await self.surface.api.client.conversations_info(channel=channel)
        except Exception:
            return None
        name = (answer.get("channel") or {}).get("name")
        return name if isinstance(name, str) else None

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
            if announce and isinstance(exc, SessionStoreError):  # the "stop" word: answered
                await self._say(where, SessionStoreError.notice)
            return
        if stopped == "idle" and announce:
            await self._say(where, texts.NOTHING_TO_STOP)
        elif stopped == "idle":  # a Stop button left on a finished reply: said to the clicker
            await self._tell(where, user, texts.NOTHING_TO_STOP, about="")
        elif stopped == "refused":  # someone else's reply: told to this user only
            await self._tell(where, user, NOT_YOURS_TO_STOP, about="")

    async def _tell(self, where: ThreadRef, user: str, markdown: str, about: str) -> None:
        """Ephemeral, to ``user`` only (``about``: the message it answers, or "")."""
        try:
            await self.surface.tell_privately(where, user, markdown, about=about)
        except SurfaceError as exc:
            log.warning("could not tell %s in %s: %s", user, where, exc)

    async def _say(self, where: ThreadRef, markdown: str) -> None:
        """A confirmation in the thread, posted through the edit scheduler's budgets and
        retried like a reply's notice (a 429 waits its ``Retry-After``); one that still
        cannot be posted is logged by the relay, never raised."""
        await self.responder.relay.notify(where, markdown)

    # --- lifecycle -----------------------------------------------------------------------

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


def _action_value(body: dict[str, Any], action_id: str) -> str | None:
    for action in body.get("actions") or []:
        if isinstance(action, dict) and action.get("action_id") == action_id:
            value = action.get("value")
            return value if isinstance(value, str) and value else None
    return None
