"""What one of the bot's messages shows now: a finished reply, or one still streaming.

Crash recovery reads an orphan's last message before it "finishes" it (see
:class:`core.ops.recovery.reaper.ReadsMessages`): a reply completed while Redis was silent
keeps its record (the drop could not land), and a replica that then died left it to the
reapers, which would add the "cut off" notice under a complete reply.

- An edited message: the writer's final edit leaves no Stop button and no streaming
  indicator (:func:`adapters.slack.blocks.payload` without controls); any edit before it
  shows at least one of them.
- A native stream (the ref says ``stream``) shows neither while it streams (Slack draws its
  own control), and an ended one looks the same however it ended (the writer's stop, an
  expiry, another stop): it is finished only when it carries the mark its writer's final
  edit leaves in the message's metadata (:mod:`adapters.slack.final_mark`), read with
  ``include_all_metadata``. Unmarked (cut off, streaming or expired) it is not.

The read is one ``conversations.replies`` call (docs.slack.dev reference/methods/
conversations.replies: ``ts`` the thread's parent; ``oldest`` and ``latest`` bound the
range, both included with ``inclusive``) for that message's ``ts``, ``limit`` 2: the
first page of a thread may start with its parent whatever the range (continuation pages
omit it), so the message is picked by its ``ts``. A message not in the answer (deleted)
cannot tell.
"""

from __future__ import annotations

from adapters.slack.api import SlackApi
from adapters.slack.final_mark import is_marked
from adapters.slack.lost_posts import is_open
from core.surface import MessageRef

__all__ = ["shows_final"]


async def shows_final(
    api: SlackApi, message: MessageRef, *, indicator: str, scope: str | None
) -> bool | None:
    """True: ``message`` shows a finished reply; False: it does not (still streaming, or a
    stream cut off); None: it cannot tell (see the module). Raises
    :class:`~core.errors.SurfaceError` when the read fails."""
    where, ts = message.where, message.message_id
    if where.thread is None:
        return None
    page = await api.replies(
        where.channel, where.thread, oldest=ts, latest=ts, inclusive=True, cursor=None,
        limit=2, scope=scope, metadata=message.stream,
    )  # fmt: skip
    for raw in page.get("messages") or []:
        if isinstance(raw, dict) and raw.get("ts") == ts:
            return is_marked(raw) if message.stream else not is_open(raw, indicator)
    return None
