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
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from adapters.discord.requests import DiscordRequests
from adapters.discord.stop_button import STOP_CUSTOM_ID
from core.surface import MessageRef
from core.turn import ThreadRef

__all__ = ["find_open_post"]


async def find_open_post(
    requests: DiscordRequests,
    where: ThreadRef,
    after: str | None,
    known: Collection[str],
    *,
    me: int,
    indicator: str,
) -> tuple[MessageRef, str] | None:
    """The oldest open message of the bot ``me`` in ``where`` after the message ``after``
    (else after the thread's start), not in ``known``; with its content."""
    start = after if after and after.isdigit() else where.thread
    found = await requests.messages_after(where, int(start) if start else None)
    for raw in sorted(found, key=_id):
        message_id = str(raw.get("id"))
        if message_id in known or str((raw.get("author") or {}).get("id")) != str(me):
            continue
        content = str(raw.get("content") or "")
        if _open(raw, content, indicator):
            return MessageRef(where, message_id), content
    return None


def _id(raw: dict[str, Any]) -> int:
    value = str(raw.get("id"))
    return int(value) if value.isdigit() else 0


def _open(raw: dict[str, Any], content: str, indicator: str) -> bool:
    """Still streaming as far as a reader can tell: the Stop button, or the indicator."""
    if STOP_CUSTOM_ID in str(raw.get("components") or ""):
        return True
    return bool(indicator) and content.rstrip().endswith(indicator.strip())
