"""The edit path: a message's later texts, by ``chat.update`` or by its native stream.

A message this process streams natively is edited through its stream
(:class:`~adapters.slack.native.NativeStreams`, which falls back to full edits); any other
is a ``chat.update``. Slack wants a stream ended with ``chat.stopStream``, so a stream this
process does not know (another replica's orphan, or a stop that never landed) is stopped
before its final text is set. One owner of this for posts and crash recovery alike: a post
that reuses the thinking placeholder, a retried post that adopts an earlier try, and a stray
copy being finalised all end in :meth:`Edits.update`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from adapters.slack.api import SlackApi
from adapters.slack.blocks import Dialect, feedback_controls, payload
from adapters.slack.config import scope_key
from adapters.slack.errors import SlackError
from adapters.slack.final_mark import final_mark
from adapters.slack.guard import plain_if_refused
from adapters.slack.native import NativeStreams, StoppedByUser
from adapters.slack.recipient import Recipient, guard_of, watch
from core.surface import MessageRef
from core.turn import ThreadRef

__all__ = ["Edits"]


@dataclass(slots=True)
class Edits:
    """Edits of one workspace's messages (see the module docstring)."""

    api: SlackApi
    dialect: Dialect
    native: NativeStreams
    give_up: Callable[[ThreadRef, str, str], None]  # (where, user, why): stop that user's reply

    async def edit(
        self, message: MessageRef, text: str, final: bool, to: Recipient | None, *, feedback: bool
    ) -> None:
        """``message`` shows ``text`` (``final``: for good, no Stop button; ``feedback``:
        with 👍 / 👎), through its stream if this process streams it."""
        with watch(message.where, to):
            if self.native.owns(message):
                await self._edit_stream(message, text, final, to, feedback=feedback)
                return
            if final and message.stream:
                # A stream this process did not start (another replica's orphan, found
                # by crash recovery): stopped first, as Slack wants a stream ended with
                # chat.stopStream; chat.update then sets its final text.
                await self.native.end(message)
            await self.update(message, text, final, to, feedback=feedback)

    async def _edit_stream(
        self, message: MessageRef, text: str, final: bool, to: Recipient | None, *, feedback: bool
    ) -> None:
        """An edit of a native stream this process started: what was appended since, or
        the full edit the stream falls back to (:meth:`NativeStreams.edit`)."""
        scope = scope_key(message.where, "chat.appendStream")

        async def update(message: MessageRef, text: str, final: bool) -> None:
            await self.update(message, text, final, to, feedback=feedback)

        plain = to is not None and to.guard.plain_text
        blocks = [feedback_controls()] if feedback and not plain else None
        try:
            await self.native.edit(
                message, text, final=final, scope=scope, update=update, blocks=blocks
            )
        except StoppedByUser:
            if to is not None:
                self.give_up(message.where, to.user, "stopped_by_user")

    async def update(
        self,
        message: MessageRef,
        text: str,
        final: bool,
        to: Recipient | None,
        *,
        feedback: bool = False,
    ) -> None:
        """A ``chat.update`` of ``message``; ``feedback``: the final text with 👍 / 👎
        (dropped with the blocks if Slack refuses them)."""
        where = message.where
        scope = scope_key(where, "chat.update")

        async def update(plain: bool) -> None:
            content = payload(text, self.dialect, controls=not final, thread=where.thread,
                              update=True, plain=plain, feedback=feedback)  # fmt: skip
            if final and message.stream:  # as a stream's final stop does
                content["metadata"] = final_mark()
            await self.api.update(where.channel, message.message_id, content, scope=scope)

        try:
            await plain_if_refused(update, guard_of(to))
        except SlackError as exc:
            if exc.code != "streaming_state_conflict":
                raise
            # Still a native stream this process does not know (another replica's orphan,
            # or a stop that never landed): stop it, then the update goes through.
            await self.native.end(message)
            await plain_if_refused(update, guard_of(to))

    async def finalise_stray(self, message: MessageRef, text: str) -> None:
        """A copy of a post retried blind: its text for good, no Stop button."""
        if message.stream:
            await self.native.end(message)
        await self.update(message, text, True, None)
