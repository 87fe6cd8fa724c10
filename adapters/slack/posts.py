"""The post path: a message's first text in a thread, and the structured output.

A reply's first text becomes, in this order of preference: a native stream's start
(``chat.startStream``, when the reply streams and a stream can be addressed to its user),
the thinking placeholder's update (:mod:`adapters.slack.thinking`: no extra message stays
behind), or a ``chat.postMessage``. A post with a ``key`` is one try of a post the relay may
retry after an unknown outcome: an earlier try found in the thread is adopted instead of
posting a copy (:mod:`adapters.slack.unsure_posts`).
"""

from __future__ import annotations

import logging
from dataclasses import KW_ONLY, dataclass
from typing import Any

from pydantic import BaseModel

from adapters.slack.api import SlackApi
from adapters.slack.blocks import Dialect, payload, structured_blocks
from adapters.slack.config import scope_key
from adapters.slack.edits import Edits
from adapters.slack.errors import SlackError
from adapters.slack.guard import plain_if_refused
from adapters.slack.native import NativeStreams
from adapters.slack.recipient import Recipient, guard_of, watch
from adapters.slack.thinking import Thinking
from adapters.slack.unsure_posts import UnsurePosts
from core.errors import MessageGone
from core.surface import MessageRef
from core.turn import ThreadRef

__all__ = ["Posts"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Posts:
    """Posts in one workspace's threads (see the module docstring)."""

    api: SlackApi
    dialect: Dialect
    _: KW_ONLY
    thinking: Thinking
    native: NativeStreams
    unsure: UnsurePosts
    edits: Edits

    async def post(
        self,
        where: ThreadRef,
        text: str,
        streaming: bool,
        key: str | None,
        to: Recipient | None,
        *,
        feedback: bool,
    ) -> MessageRef:
        """``text`` in ``where`` (with the Stop button while ``streaming``, or 👍 / 👎 with
        ``feedback``); ``key``: see the module docstring."""
        with watch(where, to):
            if key is None:
                message = await self._first(where, text, streaming, to, feedback)
            else:
                message = await self._keyed(where, text, streaming, key, to, feedback)
        if to is not None:
            to.posted = True
        return message

    async def _keyed(
        self,
        where: ThreadRef,
        text: str,
        streaming: bool,
        key: str,
        to: Recipient | None,
        feedback: bool,
    ) -> MessageRef:
        """A try of the post ``key``: an earlier try found in the thread is adopted;
        otherwise this try is sent, and remembered until its outcome is known."""
        found = await self.unsure.find(key)
        if found is not None:
            message, sent = found
            if sent != text or feedback:  # that try had less: this post's text, on it
                await self.edits.update(message, text, not streaming, to, feedback=feedback)
            self.thinking.replied(where)
            return message
        # What this try may show: with its blocks, or as plain text (Slack refused them).
        shown = [
            payload(text, self.dialect, controls=streaming, thread=where.thread, update=False),
            payload(
                text, self.dialect, controls=False, thread=where.thread, update=False, plain=True
            ),
        ]
        return await self.unsure.attempt(
            key, where, text, [content["text"] for content in shown],
            lambda: self._first(where, text, streaming, to, feedback),
            native=streaming and not self.native.disabled, open=streaming,
        )  # fmt: skip

    async def _first(
        self,
        where: ThreadRef,
        text: str,
        streaming: bool,
        to: Recipient | None,
        feedback: bool = False,
    ) -> MessageRef:
        """The first text of a message: a native stream's start, else the thinking
        placeholder's update, else a ``chat.postMessage``."""
        placeholder = self.thinking.take_placeholder(where)
        try:
            if streaming and not self.native.disabled:
                ts = await self._start_stream(where, text, placeholder, to)
                if ts is not None:
                    return MessageRef(where, ts, stream=True)
            elif not self.native.disabled:
                self.native.forget_plan(where)
            if placeholder is not None and await self._reuse(
                placeholder, where, text, streaming, to, feedback
            ):
                return MessageRef(where, placeholder)
        except BaseException:
            if placeholder is not None:  # failed for a passing reason: it is still there
                self.thinking.give_back(where, placeholder)
            raise
        ts = await self._post_message(where, text, streaming, to, feedback)
        self.thinking.replied(where)
        return MessageRef(where, ts)

    async def _start_stream(
        self, where: ThreadRef, text: str, placeholder: str | None, to: Recipient | None
    ) -> str | None:
        """A native stream's start, addressed to the reply's user; None when the reply
        posts instead (no one to stream to, or no start budget soon)."""
        scope = scope_key(where, "chat.startStream")
        recipient, team = (None, None) if to is None else (to.user, to.team)
        if to is not None and not to.streams:  # an integration's post: no one to stream to
            self.native.post_instead(where)
            return None
        ts = await self.native.start(where, text, recipient=recipient, team=team, scope=scope)
        if ts is not None:
            self.thinking.replied(where)
            if placeholder is not None:  # a stream cannot reuse it: remove it
                await self.thinking.clear_placeholder(where, placeholder)
        return ts

    async def _reuse(
        self,
        placeholder: str,
        where: ThreadRef,
        text: str,
        streaming: bool,
        to: Recipient | None,
        feedback: bool = False,
    ) -> bool:
        """Show the first text in the thinking placeholder; False if it is gone, or can no
        longer be edited (``edit_window_closed``: then it is removed, or it would say
        "Thinking…" above the reply for good; a placeholder deleted already costs one
        quiet ``chat.delete``)."""
        try:
            await self.edits.update(
                MessageRef(where, placeholder), text, not streaming, to, feedback=feedback
            )
        except MessageGone:
            await self.thinking.clear_placeholder(where, placeholder)
            return False
        self.thinking.replied(where)
        return True

    async def _post_message(
        self, where: ThreadRef, text: str, streaming: bool, to: Recipient | None, feedback: bool
    ) -> str:
        """A ``chat.postMessage`` of ``text`` (with the Stop button while ``streaming``, or
        👍 / 👎 with ``feedback``); its ``ts``."""
        scope = scope_key(where, "chat.postMessage", per_channel=True)

        async def post(plain: bool) -> str:
            content = payload(text, self.dialect, controls=streaming, thread=where.thread,
                              update=False, plain=plain, feedback=feedback)  # fmt: skip
            return await self.api.post_message(where.channel, where.thread, content, scope=scope)

        return await plain_if_refused(post, guard_of(to))

    async def structured(
        self,
        where: ThreadRef,
        data: BaseModel,
        fallback: str,
        key: str | None,
        to: Recipient | None,
    ) -> None:
        """``data`` in Block Kit, or ``fallback`` as text; ``key``: as :meth:`post`'s."""
        with watch(where, to):
            text = payload(fallback, self.dialect, controls=False, thread=where.thread,
                           update=False)  # fmt: skip
            if key is None:
                await self._structured(where, data, fallback, text)
            elif await self.unsure.find(key) is None:  # else an earlier try landed
                await self.unsure.attempt(
                    key, where, fallback, [text["text"]],
                    lambda: self._structured(where, data, fallback, text),
                    native=False, open=False,
                )  # fmt: skip

    async def _structured(
        self, where: ThreadRef, data: BaseModel, fallback: str, text: dict[str, Any]
    ) -> MessageRef:
        """``data`` in Block Kit, or ``text`` (the fallback's content) if Slack refuses it."""
        scope = scope_key(where, "chat.postMessage", per_channel=True)
        blocks = structured_blocks(data)
        if blocks is not None:
            content: dict[str, Any] = {"text": fallback, "blocks": blocks}
            try:
                ts = await self.api.post_message(where.channel, where.thread, content, scope=scope)
                return MessageRef(where, ts)
            except SlackError as exc:
                if exc.code is None or "blocks" not in exc.code:
                    raise
                log.warning("structured layout refused (%s); posting it as text", exc.code)
        ts = await self.api.post_message(where.channel, where.thread, text, scope=scope)
        return MessageRef(where, ts)
