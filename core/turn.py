"""What a bot hands the core: one user message, platform-neutral."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Attachment", "ThreadRef", "Turn"]


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """Where a conversation lives: the thread a reply is posted into.

    ``thread`` is the platform's thread id (Slack ``thread_ts``, Discord thread channel id),
    or ``None`` for a flat conversation such as a DM without threads or the console.
    """

    platform: str
    workspace: str
    channel: str
    thread: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file the user attached to their message (URL the agent may fetch)."""

    name: str
    url: str
    mimetype: str = ""
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """One user message to answer.

    ``message_id`` is the platform's id of the event or message; it is what dedup keys on,
    so a redelivered event is answered once.
    """

    where: ThreadRef
    user: str
    message_id: str
    text: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    is_dm: bool = False
    parent: str | None = None
    """The channel a thread was opened in, where a thread has a channel id of its own
    (Discord); routes, access rules, quotas and usage count the thread as that channel."""
    roles: tuple[str, ...] = ()
    """The user's role ids where the platform has roles (Discord servers)."""
    reply_to: str | None = None
    """The message this one replies to, where replies are not threads (Discord's reply):
    its reply chain is the conversation's earlier part (:mod:`core.context`)."""

    @property
    def channel(self) -> str:
        """The channel this turn counts as (see ``parent``)."""
        return self.parent or self.where.channel
