"""What crash recovery and the bot read of a thread (``conversations.replies``).

A lookup that must tell the bot's own messages from others' needs its identity, which the
bot learns after the surface is built: until then it answers "nothing found" rather than
guess. Each draws on the ``conversations.replies`` budget of its channel.
"""

from __future__ import annotations

from collections.abc import Callable

from adapters.slack.api import SlackApi
from adapters.slack.config import scope_key
from adapters.slack.lost_posts import find_open_post
from adapters.slack.shown import shows_final
from adapters.slack.thread_scan import has_posted
from core.surface import LostPost, MessageRef
from core.turn import ThreadRef

__all__ = ["ThreadLookups"]


class ThreadLookups:
    """The lookups of one workspace (see the module docstring)."""

    def __init__(
        self, api: SlackApi, *, me: Callable[[], tuple[str, str] | None], indicator: str
    ) -> None:
        self._api = api
        self._me = me  # the bot's user id and bot id, once known
        self._indicator = indicator  # what an open (still streaming) message ends with

    async def find_open_post(self, lost: LostPost) -> tuple[MessageRef, str] | None:
        me = self._me()
        if me is None:
            return None
        return await find_open_post(self._api, lost, me=me, indicator=self._indicator)

    async def has_posted(self, where: ThreadRef) -> bool:
        me = self._me()
        if me is None:
            return False
        return await has_posted(self._api, where, me=me,
                                scope=scope_key(where, "conversations.replies"))  # fmt: skip

    async def shows_final(self, message: MessageRef) -> bool | None:
        return await shows_final(
            self._api, message, indicator=self._indicator,
            scope=scope_key(message.where, "conversations.replies"),
        )  # fmt: skip
