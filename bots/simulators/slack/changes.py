"""What changes under a running bot: edits, channels archived or left, revoked tokens,
streams a person stopped, and people from other organisations (Slack Connect).

Each change is what a person or an admin does in the Slack client; the Web API then answers
the way Slack does afterwards (the errors are modelled in ``CallContext``, ``api_stream``
and ``webapi``), and edits send the events Slack sends.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bots.simulators.slack import events
from bots.simulators.slack.config import SimConfig
from bots.simulators.slack.model import Message, User
from bots.simulators.slack.store import Store
from bots.simulators.slack.user_actions import SUBSCRIPTION, Delivery, UserTurn

__all__ = ["WorkspaceChanges"]

EXTERNAL_TEAM = "T9000EXT"


class WorkspaceChanges:
    # Set by SlackSimulator (which also mixes in UserActions for send_event).
    config: SimConfig
    store: Store

    async def send_event(
        self, event: dict[str, Any], team_id: str | None = None, *, retries: bool = True
    ) -> Delivery:
        raise NotImplementedError

    # -- people edit what they said -----------------------------------------------------
    @property
    def receiving(self) -> bool:
        """Whether an app is there to receive events (``UserActions.receiving``)."""
        raise NotImplementedError

    async def user_edits(self, message: Message, text: str) -> UserTurn:
        """A person edits their message; the app receives the events that causes.

        ``message_changed`` (a ``message`` event with that subtype, the new message under
        ``message``, the old one under ``previous_message``: docs.slack.dev reference/events/
        message/message_changed) goes to apps subscribed to the channel's messages. When the
        new text mentions the app, outside DMs, Slack also sends ``app_mention`` again: a new
        ``event_id``, the same ``ts``, an ``edited`` field and no subtype — whether the old
        text mentioned the app or not (node-slack-sdk packages/types/src/events/app.ts
        ``AppMentionEvent.edited``; reported in slackapi/bolt-js#960, slack-go/slack#1256,
        PostHog/posthog#59517, chenhg5/cc-connect#1579 which notes edits that *add* the
        mention arrive this way too).
        """
        channel = self.store.channels[message.channel]
        ws = self.store.workspaces[channel.team_id]
        previous = message.to_api()
        message.text = text
        message.blocks = events.rich_text_blocks(text)
        message.edited_ts = self.store.ts_clock.next()
        parent = self._parent_of(message)
        found: list[dict[str, Any]] = []
        mentioned = f"<@{ws.bot_user_id}>" in text
        if mentioned and channel.kind != "im" and "app_mention" in self.config.subscriptions:
            found.append(events.app_mention_event(message, parent))
        if SUBSCRIPTION[channel.kind] in self.config.subscriptions:
            found.append(
                events.message_changed_event(message, channel, previous, message.edited_ts)
            )
        deliveries = await asyncio.gather(*(self.send_event(e, ws.team_id) for e in found))
        return UserTurn(message, list(deliveries))

    async def user_deletes(self, message: Message) -> Delivery | None:
        """A person deletes their message; apps subscribed to the channel's messages get
        ``message_deleted`` (docs.slack.dev reference/events/message/message_deleted: a
        hidden ``message`` event with ``deleted_ts`` and ``previous_message``).

        A thread parent with replies stays as a tombstone ("This message was deleted.",
        subtype ``tombstone``, by ``USLACKBOT``) and its thread stays open; Slack announces
        that as ``message_changed`` carrying the tombstone, not ``message_deleted`` (payloads
        recorded in public Slack bots' tests, e.g. events with ``"message": {"subtype":
        "tombstone", "user": "USLACKBOT", "hidden": true, ...}``). A message without
        replies is gone, and a reply sent to it afterwards answers ``thread_not_found`` ("the
        same user
        deleted the message while your app is generating a response to it": slackapi/
        bolt-js#2307, a maintainer's answer; see ``CallContext.reply_parent``).

        Either event is an Events API event like a new message (both pages show it in the
        ``event_callback`` wrapper), so with no Socket Mode connection open it waits for
        Slack's retries as any other does (:mod:`.socket_mode`).
        """
        channel = self.store.channels[message.channel]
        ws = self.store.workspaces[channel.team_id]
        previous = message.to_api()
        tombstone = not message.is_reply and bool(
            self.store.thread_messages(channel.id, message.ts)[1:]
        )
        if tombstone:
            message.text = "This message was deleted."
            message.subtype, message.user, message.blocks = "tombstone", "USLACKBOT", None
            message.files = []
        else:
            message.deleted = True
        if SUBSCRIPTION[channel.kind] not in self.config.subscriptions or not self.receiving:
            return None
        event_ts = self.store.ts_clock.next()
        change = events.message_changed_event if tombstone else events.message_deleted_event
        return await self.send_event(change(message, channel, previous, event_ts), ws.team_id)

    def _parent_of(self, message: Message) -> str | None:
        if not message.is_reply or message.thread_ts is None:
            return None
        parent = self.store.get_message(message.channel, message.thread_ts)
        return parent.user if parent else None

    # -- admins change channels and tokens ----------------------------------------------
    def archive_channel(self, channel: str) -> None:
        """Posts then answer ``is_archived``, updates ``is_inactive`` (see CallContext)."""
        self.store.channels[channel].archived = True

    def remove_bot(self, channel: str) -> None:
        """The bot is removed from the channel: posts answer ``not_in_channel`` (a private
        channel it can no longer see: ``channel_not_found``)."""
        self.store.channels[channel].bot_member = False

    def delete_channel(self, channel: str) -> None:
        """Every call naming the channel answers ``channel_not_found``."""
        del self.store.channels[channel]

    def restrict_channel(
        self,
        channel: str,
        *,
        read_only: bool | None = None,
        threadable: bool | None = None,
        lock_thread: str | None = None,
    ) -> None:
        """An admin restricts the channel: posting (``read_only``: posts then answer
        ``restricted_action_read_only_channel``), threads (``threadable=False``: replies
        answer ``restricted_action_non_threadable_channel``), or one thread (``lock_thread``,
        its parent ts: replies answer ``restricted_action_thread_locked``). See
        ``CallContext``."""
        target = self.store.channels[channel]
        if read_only is not None:
            target.read_only = read_only
        if threadable is not None:
            target.threadable = threadable
        if lock_thread is not None:
            target.locked_threads.add(lock_thread)

    def revoke_token(self, team_id: str | None = None, error: str = "token_revoked") -> None:
        """The bot token stops working; every call with it answers ``error``
        (``token_revoked``, ``invalid_auth`` or ``account_inactive``: see ``webapi``)."""
        for token, team in self.store.bot_tokens.items():
            if team_id is None or team == team_id:
                self.store.revoked_tokens[token] = error

    def user_stops_stream(self, channel: str, ts: str) -> None:
        """A person presses the native stream's own stop control: the message keeps its
        text and stops streaming; appends answer ``stopped_by_user`` (see ``api_stream``)."""
        message = self.store.get_message(channel, ts)
        if message is None or message.stream is None:
            raise ValueError(f"no stream {channel}/{ts}")
        message.stream.stopped = True
        message.stream.stopped_by_user = True

    def set_streams_supported(self, channel: str, supported: bool) -> None:
        """Whether the app may stream into the channel (``channel_type_not_supported``)."""
        self.store.channels[channel].streams_supported = supported

    # -- Slack Connect --------------------------------------------------------------------
    def add_external_user(self, channel: str, name: str, team_id: str = EXTERNAL_TEAM) -> User:
        """A person of another organisation in a channel shared with it (Slack Connect).

        Their messages' events carry ``user_team`` and ``source_team`` (their team) while
        the envelope's ``team_id`` stays the workspace that received the event
        (node-slack-sdk packages/types/src/events/app.ts: "user_team, source_team, and
        user_profile can exist when the user who mentioned this bot is in a different
        workspace/org").
        """
        shared = self.store.channels[channel]
        shared.external_teams.add(team_id)
        user_id = self.store.ids.next("U")
        return self.store.add_user(User(user_id, team_id, name, name.title()))
