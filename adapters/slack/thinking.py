"""The "thinking" indicator: ``assistant.threads.setStatus``, or a placeholder message.

Slack shows a thread status only where it allows it (assistant threads, with the
``assistant:write`` scope). Where it refuses, a placeholder message (``_Thinking…_``, with
the Stop button) is posted instead, and the surface's next post in that thread *reuses* it
(``chat.update`` on the placeholder), so no extra message stays behind. Clearing the status
of a thread that never got a reply deletes its placeholder. A refusal is remembered (for the
channel, or for every channel when the app lacks the method or scope), so later replies go
straight to the placeholder: the indicator costs one round trip either way.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any

from adapters.slack.api import SlackApi
from adapters.slack.config import ThinkingMode, scope_key
from adapters.slack.errors import SlackError
from core.errors import RateLimited, SurfaceError
from core.turn import ThreadRef

__all__ = ["Thinking"]

log = logging.getLogger(__name__)

# Refusals that hold for every channel: the app cannot call the method at all.
_APP_REFUSALS = frozenset(
    {"missing_scope", "not_allowed_token_type", "unknown_method", "no_permission"}
)
_MAX_REMEMBERED = 10_000  # placeholders or statuses kept at most (oldest dropped)

Key = tuple[str, str]  # (channel, thread ts)


class Thinking:
    """Thread statuses and placeholders, shared by every view of one surface."""

    def __init__(
        self, api: SlackApi, mode: ThinkingMode, placeholder: Callable[[str, str], dict[str, Any]]
    ) -> None:
        self._api = api
        self._mode: ThinkingMode = mode
        self._placeholder = placeholder  # (status, thread) -> the placeholder's content
        self._placeholders: dict[Key, str] = {}  # thread -> the placeholder's ts
        self._posting: dict[Key, asyncio.Task[None]] = {}  # placeholders on their way
        self._statuses: set[Key] = set()  # threads showing a status no reply has cleared
        self._refused: set[str] = set()  # channels where setStatus was refused
        self._refused_everywhere = mode == "placeholder"

    def uses_placeholder(self, where: ThreadRef) -> bool:
        """Whether a reply's first post in ``where`` will likely update a placeholder."""
        return self._mode != "off" and (self._refused_everywhere or where.channel in self._refused)

    async def show(self, where: ThreadRef, status: str) -> None:
        if self._mode == "off" or where.thread is None:
            return
        key = (where.channel, where.thread)
        if not self.uses_placeholder(where):
            try:
                await self._api.set_status(where.channel, where.thread, status)
                _remember(self._statuses, key)
                return
            except RateLimited:
                return  # not worth a message of its own: the first text comes soon anyway
            except SlackError as exc:
                if exc.code is None:
                    return  # network trouble: the reply's own calls will tell
                self._refuse(where, exc.code)
        # One placeholder per thread: a status shown while one is on its way (the agent's
        # progress beside the relay's "Thinking…") must not post another, which nobody
        # would track or delete.
        if key in self._placeholders or key in self._posting:
            return
        content = self._placeholder(status, where.thread)
        posting = asyncio.create_task(self._post(key, where, content), name=f"placeholder {key}")
        self._posting[key] = posting
        posting.add_done_callback(functools.partial(self._posted, key))
        # Shielded: a status cancelled now (the relay cancels a late progress status, a
        # timeout or a shutdown cuts one short) cannot take back a post Slack may have
        # applied; it goes on and is recorded, so the clear that follows deletes it.
        await asyncio.shield(posting)

    async def _post(self, key: Key, where: ThreadRef, content: dict[str, Any]) -> None:
        scope = scope_key(where, "chat.postMessage", per_channel=True)
        ts = await self._api.post_message(where.channel, where.thread, content, scope=scope)
        self._placeholders[key] = ts
        _trim(self._placeholders)

    def _posted(self, key: Key, posting: asyncio.Task[None]) -> None:
        """A placeholder's post is over; its failure is read here, as a cancelled status
        no longer awaits it."""
        if self._posting.get(key) is posting:
            del self._posting[key]
        if not posting.cancelled() and posting.exception() is not None:
            log.debug("thinking placeholder not posted: %r", posting.exception())

    async def clear(self, where: ThreadRef) -> None:
        if where.thread is None:
            return
        key = (where.channel, where.thread)
        posting = self._posting.get(key)
        if posting is not None:  # on its way (its status cancelled, say): deleted once there
            await asyncio.wait({posting})
        ts = self._placeholders.pop(key, None)
        if ts is not None:
            await self._quietly(self._api.delete(where.channel, ts, scope=None))
        if key in self._statuses:
            self._statuses.discard(key)
            await self._quietly(self._api.set_status(where.channel, where.thread, ""))

    def take_placeholder(self, where: ThreadRef) -> str | None:
        """The placeholder to reuse for the next post in ``where`` (no longer tracked)."""
        if where.thread is None:
            return None
        return self._placeholders.pop((where.channel, where.thread), None)

    async def clear_placeholder(self, where: ThreadRef, ts: str) -> None:
        """Delete a placeholder taken with :meth:`take_placeholder` that was not reused."""
        await self._quietly(self._api.delete(where.channel, ts, scope=None))

    def give_back(self, where: ThreadRef, ts: str) -> None:
        """A reuse failed for a passing reason: the placeholder is still there."""
        if where.thread is not None:
            self._placeholders[(where.channel, where.thread)] = ts

    def replied(self, where: ThreadRef) -> None:
        """The bot posted in ``where``: Slack clears the thread's status by itself."""
        if where.thread is not None:
            self._statuses.discard((where.channel, where.thread))

    def _refuse(self, where: ThreadRef, code: str) -> None:
        if code in _APP_REFUSALS:
            if not self._refused_everywhere:
                log.info("setStatus refused (%s): using placeholder messages", code)
            self._refused_everywhere = True
        else:
            _remember(self._refused, where.channel)

    @staticmethod
    async def _quietly(call: Any) -> None:
        try:
            await call
        except SurfaceError as exc:
            log.debug("could not clear the thinking indicator: %s", exc)


def _remember(items: set[Any], item: Any) -> None:
    if len(items) >= _MAX_REMEMBERED:
        items.clear()  # crude but bounded; these are hints, not state that must survive
    items.add(item)


def _trim(placeholders: dict[Key, str]) -> None:
    while len(placeholders) > _MAX_REMEMBERED:
        del placeholders[next(iter(placeholders))]
