"""Where an ephemeral message goes: into the thread, or beside the message in the channel.

Slack shows an ephemeral message posted with a ``thread_ts`` "only if there is already an
active thread" (docs.slack.dev, chat.postEphemeral, ``thread_ts``). A top-level message
that mentions the bot has no thread yet (its conversation's thread id is its own ``ts``),
so a note about it goes to the channel, where the user sees it right under their message;
a note about a reply in a thread goes into that thread.
"""

from __future__ import annotations

from core.turn import ThreadRef

__all__ = ["ephemeral_thread"]


def ephemeral_thread(where: ThreadRef, about: str) -> str | None:
    """The ``thread_ts`` for a note about message ``about`` (a Slack message id,
    ``<channel>:<ts>``, as :mod:`bots.slack.events` builds it; ``""`` for none: a Stop
    click's thread has the bot's reply in it), or None for the channel."""
    ts = about.rpartition(":")[2]
    if where.thread is None or ts == where.thread:
        return None
    return where.thread
