"""Conversation keys and the Redis keys derived from them, built and parsed here only.

A conversation key is an opaque string ``platform:workspace:channel:thread``. Each component
is escaped (``%XX`` for ``%``, ``:``, ``{``, ``}``, ``@`` and whitespace/control characters),
so an id containing ``:`` cannot collide with another conversation, and the key never
contains a brace: it can sit inside a Redis Cluster hash tag. Two special forms:

- no thread (a flat channel or DM, or scope ``channel``): the thread component is empty;
- scope ``user`` in a DM: the channel component is ``@<user>`` (a raw ``@`` never appears in
  an escaped id) and the thread is empty, so one user keeps one session across DM threads.

Every Redis key of a conversation is ``<namespace>:{<conversation>}:<suffix>``: the hash tag
puts them all in one cluster slot, so each Lua script touches a single slot.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from core.config import DEFAULT_NAMESPACE, SessionScope
from core.turn import ThreadRef

__all__ = [
    "DEFAULT_NAMESPACE",
    "ConversationRef",
    "SessionKeys",
    "agent_session_key",
    "conversation_key",
    "parse_conversation_key",
]

_UNSAFE = re.compile(r"[%:{}@\s\x00-\x1f\x7f]")
_USER_MARK = "@"


@dataclass(frozen=True, slots=True)
class ConversationRef:
    """A parsed conversation key; ``user`` is set (and ``channel`` is None) for scope user."""

    platform: str
    workspace: str
    channel: str | None
    thread: str | None
    user: str | None = None


def conversation_key(
    where: ThreadRef, *, user: str, is_dm: bool, scope: SessionScope = "thread"
) -> str:
    """The conversation a message belongs to, under the configured session scope.

    ``thread`` (default): the thread, or the channel when there is no thread.
    ``channel``: the channel; threads in it share one session.
    ``user``: in a DM, one session per user whatever the thread or DM channel; outside
    DMs a channel is shared by many users, so this falls back to thread scope there.
    """
    head = f"{_escape(where.platform)}:{_escape(where.workspace)}"
    if scope == "user" and is_dm:
        return f"{head}:{_USER_MARK}{_escape(user)}:"
    thread = where.thread if scope != "channel" else None
    return f"{head}:{_escape(where.channel)}:{_escape(thread or '')}"


def parse_conversation_key(key: str) -> ConversationRef:
    """Invert :func:`conversation_key`; raises ValueError on a malformed key."""
    parts = key.split(":")
    if len(parts) != 4:
        raise ValueError(f"not a conversation key: {key!r}")
    platform, workspace, channel, thread = parts
    if channel.startswith(_USER_MARK):
        if thread:
            raise ValueError(f"not a conversation key: {key!r}")
        user = _unescape(channel[1:], key)
        return ConversationRef(
            _unescape(platform, key), _unescape(workspace, key), None, None, user=user
        )
    return ConversationRef(
        _unescape(platform, key),
        _unescape(workspace, key),
        _unescape(channel, key),
        _unescape(thread, key) or None,
    )


class SessionKeys:
    """The Redis keys of one conversation, all in the slot of its hash tag."""

    __slots__ = ("_prefix", "conversation")

    def __init__(self, conversation: str, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        if "{" in conversation or "}" in conversation:
            raise ValueError(f"conversation key must not contain braces: {conversation!r}")
        if not namespace or "{" in namespace or "}" in namespace:
            raise ValueError(f"invalid namespace: {namespace!r}")
        self.conversation = conversation
        self._prefix = f"{namespace}:{{{conversation}}}:"

    @property
    def session(self) -> str:
        """String: the session id (sliding TTL)."""
        return self._prefix + "session"

    @property
    def meta(self) -> str:
        """Hash: created_ms, last_turn_ms, turns (same TTL as the session)."""
        return self._prefix + "meta"

    @property
    def lock(self) -> str:
        """String: the token of the turn holding the conversation (PX lock TTL)."""
        return self._prefix + "lock"

    @property
    def stop(self) -> str:
        """String: the lock token asked to stop (interrupt or Stop button)."""
        return self._prefix + "stop"

    @property
    def queue(self) -> str:
        """Zset: waiting turn tokens scored by arrival number (FIFO)."""
        return self._prefix + "queue"

    @property
    def alive(self) -> str:
        """Zset: waiting turn tokens scored by the Redis time (ms) they count as dead."""
        return self._prefix + "alive"

    @property
    def order(self) -> str:
        """Hash: ``seq`` (last arrival number) and ``floor`` (arrivals below are superseded)."""
        return self._prefix + "order"

    @property
    def running(self) -> str:
        """String: the running turn's lock token and event id (``token\nevent``), so that
        withdrawing a message stops its own turn only (:mod:`core.sessions.withdrawals`)."""
        return self._prefix + "running"

    def left(self, token: str) -> str:
        """String: marks a waiting turn's token as gone (cancelled or timed out), so that a
        late try of its enter or poll cannot put it back in the queue (PX: see LEAVE)."""
        return self._prefix + "left:" + _escape(token)

    def seen(self, event_id: str) -> str:
        """String: marks a platform event as handled (dedup)."""
        return self._prefix + "seen:" + _escape(event_id)


def agent_session_key(session_id: str, suffix: str, *, namespace: str = DEFAULT_NAMESPACE) -> str:
    """A key of state kept per *agent session* (not per conversation): one hash tag per
    session, the id escaped like a conversation component."""
    return f"{namespace}:agent:{{{_escape(session_id)}}}:{suffix}"


def _escape(component: str) -> str:
    return _UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), component)


def _unescape(component: str, key: str) -> str:
    # Only the canonical escaping is accepted, so one conversation has exactly one key.
    value = unquote(component, errors="strict")
    if _escape(value) != component:
        raise ValueError(f"not a conversation key: {key!r}")
    return value
