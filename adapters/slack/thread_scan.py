"""The bot's recent messages in a thread, for the lookups before a retry whose earlier try
may have landed (:mod:`adapters.slack.unsure_posts`, :mod:`adapters.slack.unsure_uploads`).

``conversations.replies`` (docs.slack.dev reference/methods/conversations.replies): oldest
first, ``oldest`` exclusive, cursor-paged while ``has_more``; Tier 3, and at most 15 per
page for non-Marketplace commercial apps: pages of 15, and few of them (what is looked for
is just after ``oldest``). A ``ts`` is Slack's epoch time: the range starts a margin before
our clock's time of the first try.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from adapters.slack.api import SlackApi
from core.turn import ThreadRef

__all__ = ["CLOCK_MARGIN", "POSTED_LOOK", "bot_messages", "has_posted"]

CLOCK_MARGIN = 60.0
"""Slack's ts is its own clock; ours may differ by this much (NTP keeps it far smaller)."""

_PAGE = 15
_MAX_PAGES = 4

POSTED_LOOK = 15
"""Messages of a thread :func:`has_posted` reads, from its start: one page (the most a
non-Marketplace app gets per call). The bot's answer is the thread's second message."""


async def bot_messages(
    api: SlackApi, where: ThreadRef, *, since: float, me: tuple[str, str]
) -> AsyncIterator[dict[str, Any]]:
    """The messages of the bot ``me`` (user id, bot id) in the thread ``where`` since
    ``since`` (epoch seconds, less :data:`CLOCK_MARGIN`), oldest first, the parent left out.
    Raises :class:`~core.errors.SurfaceError` when a page cannot be read."""
    thread = where.thread
    if thread is None:
        return
    oldest = f"{since - CLOCK_MARGIN:.6f}"
    cursor: str | None = None
    for _ in range(_MAX_PAGES):
        page = await api.replies(where.channel, thread, oldest=oldest, cursor=cursor,
                                 limit=_PAGE)  # fmt: skip
        for raw in page.get("messages") or []:
            if isinstance(raw, dict) and raw.get("ts") != thread and _by(raw, me):
                yield raw
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if not (page.get("has_more") and cursor):
            return


def _by(raw: dict[str, Any], me: tuple[str, str]) -> bool:
    user, bot = me
    return (bool(bot) and raw.get("bot_id") == bot) or (bool(user) and raw.get("user") == user)


async def has_posted(
    api: SlackApi, where: ThreadRef, *, me: tuple[str, str], scope: str | None
) -> bool:
    """Whether the bot ``me`` posted in the thread ``where`` among its first
    :data:`POSTED_LOOK` messages (one call; ``scope``: the budget a 429 names). Raises
    :class:`~core.errors.SurfaceError` when the thread cannot be read."""
    thread = where.thread
    if thread is None:
        return False
    page = await api.replies(where.channel, thread, oldest=None, cursor=None, limit=POSTED_LOOK,
                             scope=scope)  # fmt: skip
    return any(isinstance(raw, dict) and _by(raw, me) for raw in page.get("messages") or [])
