"""The simulated workspace's nouns: workspaces, users, channels, messages, files.

Plain data, no I/O. A ``Message`` is what a user would see in the Slack client: its current
text and blocks, its files, and whether it is still being streamed.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Channel",
    "ChannelKind",
    "FileRecord",
    "Message",
    "StreamState",
    "TsClock",
    "User",
    "Workspace",
    "expire_if_due",
]

ChannelKind = Literal["public", "private", "im", "mpim"]


@dataclass
class Workspace:
    """One team the app is installed in, with the ids every workspace is seeded with."""

    team_id: str
    name: str
    domain: str
    bot_token: str
    bot_user_id: str
    bot_id: str
    # Seeded members and conversations (see ``SlackSimulator.add_workspace``).
    alice: str = ""
    bob: str = ""
    helper_bot_user: str = ""
    helper_bot_id: str = ""
    general: str = ""
    random: str = ""
    alice_dm: str = ""
    scopes: set[str] = field(default_factory=set)  # granted to the bot token (see config)

    @property
    def url(self) -> str:
        return f"https://{self.domain}.slack.com/"


@dataclass
class User:
    id: str
    team_id: str
    name: str
    real_name: str
    is_bot: bool = False
    bot_id: str | None = None

    def to_api(self) -> dict[str, Any]:
        profile: dict[str, Any] = {
            "real_name": self.real_name,
            "display_name": self.name,
            "team": self.team_id,
        }
        if self.bot_id:
            profile["bot_id"] = self.bot_id
        return {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "real_name": self.real_name,
            "deleted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "tz": "Europe/London",
            "profile": profile,
        }


@dataclass
class Channel:
    id: str
    team_id: str
    name: str
    kind: ChannelKind = "public"
    im_user: str | None = None  # the other party of a DM
    created: int = field(default_factory=lambda: int(time.time()))
    # What happens to a channel while the bot works in it (``WorkspaceChanges``).
    archived: bool = False
    bot_member: bool = True
    # Slack Connect: teams of other organisations this channel is shared with.
    external_teams: set[str] = field(default_factory=set)
    # Whether Slack lets the app stream into it (``channel_type_not_supported`` if not).
    streams_supported: bool = True
    # Admin settings (``WorkspaceChanges``): posting restricted, threads turned off, and the
    # threads an admin locked (by parent ts).
    read_only: bool = False
    threadable: bool = True
    locked_threads: set[str] = field(default_factory=set)

    @property
    def channel_type(self) -> str:
        """The ``channel_type`` field of message events in this conversation."""
        return {"public": "channel", "private": "group", "im": "im", "mpim": "mpim"}[self.kind]

    def to_api(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "is_channel": self.kind == "public",
            "is_group": self.kind == "private",
            "is_im": self.kind == "im",
            "is_mpim": self.kind == "mpim",
            "is_private": self.kind != "public",
            "is_archived": self.archived,
            "is_general": self.name == "general",
            "is_member": self.bot_member,
            "is_ext_shared": bool(self.external_teams),
            "context_team_id": self.team_id,
        }
        if self.kind == "im":
            data["user"] = self.im_user
        else:
            data["name"] = self.name
            data["name_normalized"] = self.name
        return data


@dataclass
class StreamState:
    """A native stream (chat.startStream) that has not been stopped yet."""

    started_at: float
    last_activity: float
    recipient_user_id: str | None
    stopped: bool = False
    expired: bool = False
    stopped_by_user: bool = False  # the person pressed the stream's own stop control
    rewritten: bool = False  # chat.update rewrote it after it expired (see Message.stream_failed)


@dataclass
class FileRecord:
    id: str
    team_id: str
    user: str
    filename: str
    length: int
    title: str = ""
    data: bytes | None = None  # None until the upload URL received the bytes
    completed: bool = False
    channel: str | None = None
    thread_ts: str | None = None
    mimetype: str = ""
    # Where ``url_private`` points: Slack's file host, or the simulator itself for files
    # users share in tests (it serves them at /files-pri/…, see ``file_host``).
    url_base: str = "https://files.slack.com"

    def to_api(self) -> dict[str, Any]:
        private = f"{self.url_base}/files-pri/{self.team_id}-{self.id}/{self.filename}"
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "user": self.user,
            "size": len(self.data) if self.data is not None else self.length,
            "mode": "hosted",
            "is_external": False,
            "url_private": private,
            "url_private_download": f"{private}?download=1",
            "permalink": f"https://sim.slack.com/files/{self.user}/{self.id}/{self.filename}",
        }
        if self.mimetype:
            data["mimetype"] = self.mimetype
        return data


class Message:
    """A message as a user sees it now; ``history`` keeps each earlier text, oldest first.

    Streamed text is kept as a list of parts so each append costs O(chunk); reading
    ``text`` joins them once.
    """

    def __init__(
        self,
        *,
        ts: str,
        channel: str,
        team_id: str,
        user: str,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        stream: StreamState | None = None,
        posted_at: float | None = None,
    ) -> None:
        self.ts = ts
        # Simulator clock time of the post (None: not posted through the API), for the
        # workspace's edit window (SimConfig.message_edit_window).
        self.posted_at = posted_at
        self.channel = channel
        self.team_id = team_id
        self.user = user
        self.blocks = blocks
        self.thread_ts = thread_ts
        self.bot_id = bot_id
        self.subtype = subtype
        self.stream = stream
        self.files: list[FileRecord] = []
        self.deleted = False
        self.edited_ts: str | None = None
        self.user_team: str | None = None  # the author's team when not ``team_id`` (Connect)
        # Message metadata (``metadata.py``): returned only to ``include_all_metadata`` reads.
        self.metadata: dict[str, Any] | None = None
        self.history: list[str] = []
        self._parts: list[str] = [text] if text else []

    @property
    def text(self) -> str:
        if len(self._parts) > 1:
            self._parts = ["".join(self._parts)]
        return self._parts[0] if self._parts else ""

    @text.setter
    def text(self, value: str) -> None:
        self.history.append(self.text)
        self._parts = [value] if value else []

    def append_text(self, chunk: str) -> None:
        if chunk:
            self._parts.append(chunk)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def streaming(self) -> bool:
        return self.stream is not None and not (self.stream.stopped or self.stream.expired)

    @property
    def stream_failed(self) -> bool:
        """Whether Slack's clients show this message as a broken stream: Slack ended it (idle
        or too old) before any ``chat.stopStream``, and no ``chat.update`` rewrote it since.
        "When Slack's server-side timeout kills a stream, both chat.appendStream and
        chat.stopStream return message_not_in_streaming_state. The message still exists but
        is stuck as a broken pill in the UI. The only recovery path is chat.update(ts=...)"
        (slackapi/python-slack-sdk PR #1880, which added ``ChatStream.ts`` for that; issue
        #1859). The API does not say it (``conversations.replies`` shows the text alike):
        this is what a person sees."""
        stream = self.stream
        return stream is not None and stream.expired and not stream.rewritten

    def to_api(self, *, metadata: bool = False) -> dict[str, Any]:
        """As the API shows it; with its metadata when ``metadata`` (``include_all_metadata``)."""
        data: dict[str, Any] = {
            "type": "message",
            "ts": self.ts,
            "user": self.user,
            "text": self.text,
            "team": self.team_id,
        }
        if self.bot_id:
            data["bot_id"] = self.bot_id
        if self.subtype:
            data["subtype"] = self.subtype
        if self.subtype == "tombstone":
            data["hidden"] = True  # a deleted thread parent, kept for its replies
        if self.blocks is not None:
            data["blocks"] = self.blocks
        if self.thread_ts:
            data["thread_ts"] = self.thread_ts
        if self.files:  # each with its ``id`` (@slack/web-api ConversationsRepliesResponse,
            # MessageElement.files: docs.slack.dev tools/node-slack-sdk reference)
            data["files"] = [f.to_api() for f in self.files]
        if self.edited_ts:
            data["edited"] = {"user": self.user, "ts": self.edited_ts}
        if metadata and self.metadata is not None:
            data["metadata"] = self.metadata
        return data

    def __repr__(self) -> str:
        preview = self.text[:40] + ("…" if len(self.text) > 40 else "")
        return f"<Message {self.channel}/{self.ts} by {self.user} {preview!r}>"


def expire_if_due(message: Message, now: float, idle: float, lifetime: float) -> None:
    """End a native stream idle longer than ``idle`` or older than ``lifetime`` seconds."""
    stream = message.stream
    if stream is None or stream.stopped or stream.expired:
        return
    if now - stream.last_activity > idle or now - stream.started_at > lifetime:
        stream.expired = True


class TsClock:
    """Hands out Slack message timestamps: wall-clock based, strictly increasing."""

    def __init__(self) -> None:
        self._last_us = 0

    def next(self) -> str:
        now_us = int(time.time() * 1_000_000)
        self._last_us = max(now_us, self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"


class IdCounter:
    """Readable unique ids (``F00000001``...) for objects the simulator creates."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self, prefix: str) -> str:
        return f"{prefix}{next(self._counter):08X}"
