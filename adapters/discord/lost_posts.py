"""Finding a reply's post whose answer was lost (crash recovery, :mod:`core.ops.recovery`).

A replica killed between Discord creating its message and the answer arriving leaves a
message in the thread, with the streaming indicator and the Stop button, that no recovery
record names. The reaper asks for it: the bot's oldest message in the thread after the
reply's last known one (or the turn's own message; a thread's id is its starter message's)
that still shows the indicator or the Stop button.

discord-api-docs, Resources > Message, "Get Channel Messages": ``after`` a snowflake gives
the messages newer than it, ``limit`` 1-100 (default 50), answered newest first; a guild
channel needs READ_MESSAGE_HISTORY (without it "no messages will be returned"). A message's
``author.id`` is the bot's user id for its own posts; ``components`` holds its buttons
(the Stop button's ``custom_id`` is :data:`~adapters.discord.stop_button.STOP_CUSTOM_ID`).

A thread that refuses the bot's posts has its replies *detoured* to its parent channel
(:class:`~adapters.discord.surface.DiscordSurface`); the replica that knew of the detour
may be the one that died. So when the thread holds no such message and the lost post's
text is known, the parent channel is searched too, after the same message (a snowflake
orders messages in time across channels): there, only a message showing exactly that text
counts, as other threads' replies may be detoured to the same channel. The ref found there
names the parent channel, so the finaliser edits it where it is.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from adapters.discord.requests import DiscordRequests
from adapters.discord.stop_button import STOP_CUSTOM_ID
from core.surface import LostPost, MessageRef
from core.turn import ThreadRef

__all__ = ["find_open_post", "is_open"]


async def find_open_post(
    requests: DiscordRequests, lost: LostPost, *, me: int, indicator: str
) -> tuple[MessageRef, str] | None:
    """The oldest open message of the bot ``me`` in ``lost.where`` after the message
    ``lost.after`` (else after the thread's start), not in ``lost.known``; with its content.
    ``lost.text``: what the lost post sent, if known: the thread's parent channel is
    searched for it too."""
    where, after, known, text = lost.where, lost.after, lost.known, lost.text
    start = after if after and after.isdigit() else where.thread
    since = int(start) if start else None
    found = await _first_open(requests, where, since, known, me, indicator, None)
    if found is not None or text is None or where.thread is None:
        return found
    parent = await requests.parent_of(where)
    if parent is None:
        return None
    return await _first_open(requests, parent, since, known, me, indicator, text)


async def _first_open(
    requests: DiscordRequests, where: ThreadRef, since: int | None, known: Collection[str],
    me: int, indicator: str, text: str | None,
) -> tuple[MessageRef, str] | None:  # fmt: skip
    """The oldest open message of ``me`` in ``where`` after ``since`` (showing ``text``
    exactly, when given)."""
    found = await requests.messages_after(where, since)
    for raw in sorted(found, key=_id):
        message_id = str(raw.get("id"))
        if message_id in known or str((raw.get("author") or {}).get("id")) != str(me):
            continue
        content = str(raw.get("content") or "")
        if text is not None and content != text:
            continue
        if is_open(raw, content, indicator):
            return MessageRef(where, message_id), content
    return None


def _id(raw: dict[str, Any]) -> int:
    value = str(raw.get("id"))
    return int(value) if value.isdigit() else 0


def is_open(raw: dict[str, Any], content: str, indicator: str) -> bool:
    """Still streaming as far as a reader can tell: the Stop button, or the indicator."""
    if STOP_CUSTOM_ID in str(raw.get("components") or ""):
        return True
    return bool(indicator) and content.rstrip().endswith(indicator.strip())
