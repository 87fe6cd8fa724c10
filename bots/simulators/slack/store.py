"""The simulator's state: who exists, what was said where, which files were shared.

Only the Web API handlers and the simulator's own test helpers write here; tests read it to
assert what a user would see (``thread_messages``) rather than which calls were made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bots.simulators.slack.model import (
    Channel,
    ChannelKind,
    FileRecord,
    IdCounter,
    Message,
    TsClock,
    User,
    Workspace,
)

if TYPE_CHECKING:
    from bots.simulators.slack.api_ephemeral import Ephemeral

__all__ = ["Store", "ThreadStatus"]


@dataclass
class ThreadStatus:
    """The ``assistant.threads.setStatus`` indicator of one thread."""

    status: str
    loading_messages: list[str]
    set_at: float


class Store:
    def __init__(self) -> None:
        self.ids = IdCounter()
        self.ts_clock = TsClock()
        self.workspaces: dict[str, Workspace] = {}
        self.bot_tokens: dict[str, str] = {}  # token -> team_id
        self.revoked_tokens: dict[str, str] = {}  # token -> the error Slack now answers
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.files: dict[str, FileRecord] = {}
        self.statuses: dict[tuple[str, str], ThreadStatus] = {}
        self.status_log: list[tuple[float, str, str, str]] = []  # (time, channel, thread, status)
        # assistant.threads.setSuggestedPrompts / setTitle, by (channel, thread_ts or "").
        self.suggested_prompts: dict[tuple[str, str], tuple[str | None, list[Any]]] = {}
        self.thread_titles: dict[tuple[str, str], str] = {}
        # Interactions' trigger_ids (team, user, issued at) and the modals opened with them.
        self.triggers: dict[str, tuple[str, str, float]] = {}
        self.modals: dict[str, tuple[str, str, dict[str, Any]]] = {}
        self._messages: dict[str, dict[str, Message]] = {}  # channel -> ts -> message
        self._threads: dict[tuple[str, str], list[str]] = {}  # (channel, parent ts) -> reply ts
        self.home_views: dict[tuple[str, str], dict[str, Any]] = {}  # (team, user): views.publish
        self.ephemerals: list[Ephemeral] = []  # chat.postEphemeral, in order (api_ephemeral)

    # -- setup --------------------------------------------------------------------------
    def add_workspace(self, ws: Workspace) -> None:
        self.workspaces[ws.team_id] = ws
        self.bot_tokens[ws.bot_token] = ws.team_id

    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        return user

    def add_channel(
        self, team_id: str, channel_id: str, name: str, kind: ChannelKind, im_user: str | None
    ) -> Channel:
        channel = Channel(id=channel_id, team_id=team_id, name=name, kind=kind, im_user=im_user)
        self.channels[channel_id] = channel
        self._messages.setdefault(channel_id, {})
        return channel

    # -- messages -----------------------------------------------------------------------
    def channel_in(self, team_id: str, channel_id: str) -> Channel | None:
        """The channel, if it exists and the workspace can see it."""
        channel = self.channels.get(channel_id)
        return channel if channel is not None and channel.team_id == team_id else None

    def get_message(self, channel_id: str, ts: str) -> Message | None:
        message = self._messages.get(channel_id, {}).get(ts)
        return None if message is None or message.deleted else message

    def thread_parent_ts(self, channel_id: str, ts: str) -> str | None:
        """Where a reply to ``ts`` goes: the parent of the thread ``ts`` belongs to."""
        message = self.get_message(channel_id, ts)
        if message is None:
            return None
        return message.thread_ts if message.is_reply else message.ts

    def add_message(self, message: Message) -> Message:
        self._messages.setdefault(message.channel, {})[message.ts] = message
        if message.thread_ts and message.thread_ts != message.ts:
            self._threads.setdefault((message.channel, message.thread_ts), []).append(message.ts)
            parent = self.get_message(message.channel, message.thread_ts)
            if parent is not None and parent.thread_ts is None:
                parent.thread_ts = parent.ts  # a parent carries its own ts as thread_ts
        return message

    def thread_messages(self, channel_id: str, thread_ts: str) -> list[Message]:
        """Parent then replies, oldest first, deleted ones left out."""
        messages = [self.get_message(channel_id, thread_ts)]
        messages += [
            self.get_message(channel_id, ts)
            for ts in self._threads.get((channel_id, thread_ts), [])
        ]
        return [m for m in messages if m is not None]

    def channel_messages(self, channel_id: str) -> list[Message]:
        """Top-level messages of a channel, oldest first."""
        return [
            m
            for m in self._messages.get(channel_id, {}).values()
            if not m.deleted and not m.is_reply
        ]

    def all_messages(self) -> list[Message]:
        return [m for by_ts in self._messages.values() for m in by_ts.values() if not m.deleted]

    def reply_summary(self, channel_id: str, thread_ts: str) -> dict[str, Any]:
        replies = self.thread_messages(channel_id, thread_ts)[1:]
        if not replies:
            return {}
        return {
            "reply_count": len(replies),
            "reply_users": sorted({m.user for m in replies}),
            "latest_reply": replies[-1].ts,
        }
