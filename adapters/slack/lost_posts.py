"""Finding a reply's post whose answer was lost (crash recovery, :mod:`core.ops.recovery`).

A replica killed between ``chat.postMessage`` landing and its answer leaves a message in
the thread, with the streaming indicator and the Stop button, that no recovery record
names. The reaper asks for it: the bot's oldest message in the thread after the reply's
last known one (or the turn's own message) that still shows the indicator or the Stop
button.

``conversations.replies`` (docs.slack.dev reference/methods/conversations.replies):
``channel`` and ``ts`` (the thread's parent) are required; ``oldest`` bounds the range,
exclusive unless ``inclusive``; oldest first; cursor-paged (``response_metadata.
next_cursor`` while ``has_more``). Tier 3 for internal and Marketplace apps; non-Marketplace
commercial apps get 1 per minute and at most 15 per page: pages of 15, and few of them
(the lost post is just after ``oldest``). A message posted by the bot carries ``bot_id``
(and the bot user as ``user``). Needs the history scope of the conversation's type, as the
thread context does (:mod:`adapters.slack.context`).
"""

from __future__ import annotations

from typing import Any

from adapters.slack.api import SlackApi
from adapters.slack.blocks import STOP_ACTION_ID
from core.surface import LostPost, MessageRef

__all__ = ["find_open_post", "is_open"]

_PAGE = 15
_MAX_PAGES = 10


async def find_open_post(
    api: SlackApi, lost: LostPost, *, me: tuple[str, str], indicator: str
) -> tuple[MessageRef, str] | None:
    """The oldest open message of the bot ``me`` (user id, bot id) in ``lost.where`` after
    ``lost.after`` (a ``ts``, or a turn's ``channel:ts``), not in ``lost.known``; with its
    text. ``lost.text``: what the lost post sent, if known (it finds a native stream too)."""
    where, after, known, text = lost.where, lost.after, lost.known, lost.text
    thread = where.thread
    if thread is None:
        return None  # the bot always answers in a thread
    oldest = after.rpartition(":")[2] if after else None
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await api.replies(where.channel, thread, oldest=oldest, cursor=cursor,
                                 limit=_PAGE)  # fmt: skip
        for raw in page.get("messages") or []:
            if not isinstance(raw, dict):
                continue
            ts = raw.get("ts")
            if not isinstance(ts, str) or ts == thread or ts in known:
                continue
            if not _by(raw, me):
                continue
            if is_open(raw, indicator):
                return MessageRef(where, ts), str(raw.get("text") or "")
            if _stream_of(raw, text, indicator):
                return MessageRef(where, ts, stream=True), str(raw.get("text") or "")
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not (page.get("has_more") and cursor):
            return None
    return None


def _by(raw: dict[str, Any], me: tuple[str, str]) -> bool:
    user, bot = me
    return (bool(bot) and raw.get("bot_id") == bot) or (bool(user) and raw.get("user") == user)


def _stream_of(raw: dict[str, Any], text: str | None, indicator: str) -> bool:
    """Whether ``raw`` is a native stream started with ``text``: it shows neither the
    indicator nor a Stop button of ours (Slack draws its own control), only what was sent
    of the text, a prefix of it (:func:`adapters.slack.stable.stable_prefix`). Finishing it
    takes a chat.stopStream first (the ref says ``stream``)."""
    if text is None or raw.get("files"):
        return False
    shown = _plain(str(raw.get("text") or ""))
    return _plain(text.removesuffix(indicator)).startswith(shown)


def _plain(text: str) -> str:
    """As compared: Slack stores ``&``, ``<`` and ``>`` escaped (docs.slack.dev
    messaging/formatting-message-text, "Escaping text")."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").strip()


def is_open(raw: dict[str, Any], indicator: str) -> bool:
    """Still streaming as far as a reader can tell: the Stop button, or the indicator."""
    if STOP_ACTION_ID in str(raw.get("blocks") or ""):
        return True
    text = str(raw.get("text") or "")
    return bool(indicator) and text.rstrip().endswith(indicator.strip())
