"""Names for what the relay does and sees: the kinds of update a reply's messages get, and
the ways the agent's side of a reply ends.

A kind of update decides how its surface call is made, so the writer passes one name
instead of a row of booleans; the properties below are what each kind means to the
surface and to the :class:`~core.relay.sender.Sender`. Nothing here is per chunk.
"""

from __future__ import annotations

import enum

__all__ = ["End", "Update"]


class Update(enum.Enum):
    """What one post or edit of a reply's messages is for (:class:`ReplyWriter`)."""

    # STREAMING:
    #   The open page while the agent streams: its text with the streaming indicator (and
    #   a Stop control). Its edit is tried once and waits by staleness, as newer text
    #   follows anyway; its post must get through, and jumps the queue when it is the
    #   reply's first text.
    STREAMING = "streaming"
    # PAGE_FULL:
    #   A full page's final text while the reply streams on in a new message. It jumps the
    #   queue; when it fails, the text stays buffered for the writer's next update.
    PAGE_FULL = "page_full"
    # FINAL:
    #   The reply's last text (and its notice), once the agent's stream ended. It jumps the
    #   queue and is retried; a final edit that still fails is posted anew, never lost.
    FINAL = "final"
    # SETTLE:
    #   The owed final edit of a page turned early: it only drops the indicator (and a Stop
    #   control), so it waits by staleness behind new text. Retried, never posted anew: the
    #   page would then repeat after the pages that follow it.
    SETTLE = "settle"

    @property
    def final(self) -> bool:
        """The surface's ``final``: no streaming indicator, no Stop control."""
        return self is not Update.STREAMING

    @property
    def urgent(self) -> bool:
        """Jumps the shared budget's queue (a post of the reply's first text does too)."""
        return self is Update.PAGE_FULL or self is Update.FINAL

    @property
    def persistent(self) -> bool:
        """Its edit is retried until it gets through (posts always are), and a failure is
        recorded as undelivered rather than left for the next update."""
        return self is Update.FINAL or self is Update.SETTLE


class End(enum.Enum):
    """Why the relay stopped reading the agent's stream (:meth:`Relay.deliver`)."""

    # DONE:
    #   The stream ended by itself: the agent's last chunk, or its error.
    DONE = "done"
    # STOPPED:
    #   A Stop (the ``cancelled`` event) or the reply's task cancelled: the partial text is
    #   kept with the "stopped" notice.
    STOPPED = "stopped"
    # INTERRUPTED:
    #   The reply's task cancelled by a shutdown (:data:`core.ops.tasks.SHUTDOWN`): as
    #   STOPPED, with the notice that asks the user to try again.
    INTERRUPTED = "interrupted"
    # TIMEOUT:
    #   The turn's time (``turn_timeout``) ran out first: the reply fails with a timeout.
    TIMEOUT = "timeout"
