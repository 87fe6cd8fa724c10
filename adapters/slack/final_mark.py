"""The mark a native stream's final edit leaves on its message, for crash recovery to read.

A reaper reads an orphan's last message before it adds the "cut off" notice
(:mod:`adapters.slack.shown`): the reply may have finished while Redis was silent. An edited
message tells by its look (no indicator, no Stop button after the final edit); a native
stream does not: it never shows either, and once it has ended nothing on it says how. The
writer's ``chat.stopStream``, Slack's expiry of an idle or old stream (about 5 minutes) and
a stop by another process look the same to ``conversations.replies``, and a second
``chat.stopStream`` answers ``message_not_in_streaming_state`` in every case. So a stop
cannot be the test: a reaper comes a while after the replica died (its ttl, then a scan),
and an orphan cut off mid-reply whose stream expired meanwhile would lose its notice.

The writer's final edit of a stream therefore leaves message metadata, :func:`final_mark`
(``chat.stopStream``'s ``metadata``, or ``chat.update``'s when the stream had fallen back to
it), and :func:`is_marked` finds it in a ``conversations.replies`` answer read with
``include_all_metadata``. Sources: docs.slack.dev reference/methods/chat.stopStream
(``metadata``: "JSON object with event_type and event_payload fields"), chat.update ("If
you don't include this field, the message's previous metadata will be retained": later
updates, 👍 / 👎 included, keep the mark), conversations.replies (``include_all_metadata``,
default false), messaging/message-metadata (``event_type``: letters, digits, ``_`` and
``-``; any other is ignored with a warning). Metadata "is accessible to any app or user
who is a member of that workspace": the mark says only that the reply ended.

What it cannot see: a stream whose final text was appended while its stop waited in the
paced queue (:mod:`adapters.slack.stops`) is unmarked until that stop lands (or, if Slack
ended the stream meanwhile, until the queue's ``chat.update`` rewrites it). Crash recovery
keeps that stop's final edit meanwhile (:mod:`core.ops.recovery.owed`): a replica dying or
shut down in between leaves it to the reapers, who make it (with the mark, no notice).
"""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT_TYPE", "final_mark", "is_marked"]

EVENT_TYPE = "threadcast_reply_ended"


def final_mark() -> dict[str, Any]:
    """The ``metadata`` argument of a stream's final edit (a fresh dict each time)."""
    return {"event_type": EVENT_TYPE, "event_payload": {"ended": True}}


def is_marked(message: dict[str, Any]) -> bool:
    """Whether a message of a ``conversations.replies`` answer (read with
    ``include_all_metadata``) carries the mark of a final edit."""
    metadata = message.get("metadata")
    return isinstance(metadata, dict) and metadata.get("event_type") == EVENT_TYPE
