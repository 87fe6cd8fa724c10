"""What a Web API method handler gets: the call's arguments and the simulator's state.

Handlers are plain synchronous functions ``(CallContext) -> dict``: they run between two
awaits, so each call changes the store atomically, as one Slack API call would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bots.simulators.slack.config import AppIdentity, SimConfig
from bots.simulators.slack.errors import ApiError
from bots.simulators.slack.model import Channel, Message, Workspace
from bots.simulators.slack.params import str_arg
from bots.simulators.slack.store import Store

__all__ = ["CallContext", "Change", "Handler"]


@dataclass
class Change:
    """A change to a message a user would notice (for echoed events)."""

    kind: Literal["posted", "changed", "deleted"]
    message: Message
    previous: dict[str, Any] | None = None


@dataclass
class CallContext:
    method: str
    params: dict[str, Any]
    token: str
    workspace: Workspace | None  # None only for methods called with the app-level token
    store: Store
    config: SimConfig
    app: AppIdentity
    now: float
    base_url: str  # http://127.0.0.1:<port>, for URLs the simulator hands out
    issue_socket_ticket: Callable[[], str]
    changes: list[Change] = field(default_factory=list)

    @property
    def ws(self) -> Workspace:
        if self.workspace is None:
            raise ApiError("not_allowed_token_type")
        return self.workspace

    def channel(self, name: str = "channel") -> Channel:
        """The channel named by argument ``name``; ``channel_not_found`` like Slack, also
        for a private channel the bot is no longer in (it cannot see it: docs.slack.dev
        reference/methods/conversations.info, "channel_not_found: Value passed for channel
        was invalid")."""
        channel_id = self.params.get(name)
        if not channel_id:
            raise ApiError("channel_not_found")
        channel = self.store.channel_in(self.ws.team_id, str(channel_id))
        if channel is None or (channel.kind in ("private", "mpim") and not channel.bot_member):
            raise ApiError("channel_not_found")
        return channel

    def postable_channel(self, name: str = "channel") -> Channel:
        """A channel the bot may post (or stream) a new message into.

        docs.slack.dev reference/methods/chat.postMessage (and chat.startStream /
        appendStream / stopStream) errors: ``is_archived`` "Channel has been archived",
        ``not_in_channel`` "Cannot post user messages to a channel they are not in" (the
        app has no ``chat:write.public``).
        """
        channel = self.channel(name)
        if channel.archived:
            raise ApiError("is_archived")
        if not channel.bot_member:
            raise ApiError("not_in_channel")
        if channel.read_only:
            # "restricted_action_read_only_channel: Cannot post any message into a read-only
            # channel" (chat.postMessage, Errors).
            raise ApiError("restricted_action_read_only_channel")
        return channel

    def editable_channel(self, name: str = "channel") -> Channel:
        """A channel whose messages the bot may still edit: docs.slack.dev
        reference/methods/chat.update, ``is_inactive`` "The message cannot be edited within
        a frozen, archived or deleted channel". (chat.update lists no ``not_in_channel``: the
        simulator lets the bot edit its messages in a public channel it has left.)"""
        channel = self.channel(name)
        if channel.archived:
            raise ApiError("is_inactive")
        return channel

    def reply_parent(self, channel: Channel) -> str | None:
        """The parent ts a ``thread_ts`` argument puts a new message under (``None``
        without one); ``thread_not_found`` when there is no such thread, as listed in
        ``api_chat``'s docstring (chat.postMessage; chat.startStream and file shares
        alike); the admin restrictions on threads (a channel without threads, a locked
        thread) likewise."""
        thread_ts = str_arg(self.params, "thread_ts")
        if thread_ts is None:
            return None
        if not channel.threadable:
            # "restricted_action_non_threadable_channel: Cannot post thread replies into a
            # non_threadable channel" (chat.postMessage, Errors).
            raise ApiError("restricted_action_non_threadable_channel")
        parent_ts = self.store.thread_parent_ts(channel.id, thread_ts)
        if parent_ts is None:
            raise ApiError("thread_not_found")
        if parent_ts in channel.locked_threads:
            # "restricted_action_thread_locked: Cannot post replies to a thread that has been
            # locked by admins" (chat.postMessage, Errors).
            raise ApiError("restricted_action_thread_locked")
        return parent_ts

    def bot_message(self, channel: Channel, ts: str) -> Message:
        """A message this bot may edit: ``message_not_found`` / ``cant_update_message``."""
        message = self.store.get_message(channel.id, ts)
        if message is None:
            raise ApiError("message_not_found")
        if message.bot_id != self.ws.bot_id:
            raise ApiError("cant_update_message")
        return message


Handler = Callable[[CallContext], dict[str, Any]]
