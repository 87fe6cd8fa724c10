"""Whether a follow-up (a thread message that does not mention the bot) is the bot's to
answer: only in a thread that already has a conversation, which Redis knows.

A Redis too slow to say (a burst) must not drop the message without a word, as it did: the
question is a read, safe to repeat, so it is asked again while Redis answers late (the
turn gate's patience, :meth:`~core.sessions.gate.TurnGate.ask`). Still unanswered (Redis
down), a thread this process answered lately is answered all the same — the turn then
meets the same failure and the person gets the store notice, or Redis is back and the
reply comes. Any other thread is looked at on Slack (``looks``: the surface's
``has_posted``, one ``conversations.replies`` call through the budgets, Tier 3): where this
bot posted — another replica answered there — the person is told the session store is
unavailable (the agent is never asked without a session); elsewhere, or when Slack cannot
say either, the message is left alone and logged: the bot must not speak up in every
thread of its channels while its store is down.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Literal

from core.errors import SessionStoreError, SurfaceError
from core.sessions.gate import TurnGate
from core.turn import ThreadRef

__all__ = ["FollowUps", "Verdict"]

log = logging.getLogger(__name__)

REMEMBERED = 10_000
"""Conversations this process answered lately, kept in memory (a few hundred kB at most)."""

Verdict = Literal["answer", "store-down", "ignore"]
"""What to do with a follow-up: answer it; tell its sender the session store is down
(the bot's thread, Redis unreachable); leave it alone."""

Looks = Callable[[ThreadRef], Awaitable[bool]]
"""Whether the bot posted in a thread (read on the platform; raises SurfaceError)."""


class FollowUps:
    """See the module docstring."""

    def __init__(
        self, gate: TurnGate, *, remembered: int = REMEMBERED, looks: Looks | None = None
    ) -> None:
        self.gate = gate
        self.remembered = remembered
        self.looks = looks
        self._recent: OrderedDict[str, None] = OrderedDict()

    def answering(self, conversation: str) -> None:
        """A turn of ``conversation`` is being answered here."""
        recent = self._recent
        recent[conversation] = None
        recent.move_to_end(conversation)
        while len(recent) > self.remembered:
            recent.popitem(last=False)

    async def has_conversation(self, conversation: str) -> bool:
        """Whether ``conversation`` exists; raises SessionStoreError when Redis cannot say."""
        info = await self.gate.ask(lambda: self.gate.sessions.info(conversation))
        return info is not None

    async def ours(self, conversation: str, message_id: str) -> bool:
        """Whether the follow-up ``message_id`` in ``conversation`` is to be answered
        (without looking at the thread on the platform)."""
        return await self.verdict(conversation, message_id, None) == "answer"

    async def verdict(self, conversation: str, message_id: str, where: ThreadRef | None) -> Verdict:
        """What to do with the follow-up ``message_id`` in ``conversation``, in the thread
        ``where`` (looked at on the platform when Redis cannot say; see the module)."""
        try:
            return "answer" if await self.has_conversation(conversation) else "ignore"
        except SessionStoreError as exc:
            if conversation in self._recent:
                log.warning("could not tell whether %s has a conversation (%s): answered, as "
                            "this process answered there lately", message_id, exc)  # fmt: skip
                return "answer"
            if where is not None and self.looks is not None and await self._posted(where):
                log.warning("could not tell whether %s has a conversation (%s): the bot posted "
                            "in its thread, so its sender is told the store is unavailable",
                            message_id, exc)  # fmt: skip
                return "store-down"
            log.warning("follow-up %s not answered: could not tell whether its thread has a "
                        "conversation: %s", message_id, exc)  # fmt: skip
            return "ignore"

    async def _posted(self, where: ThreadRef) -> bool:
        assert self.looks is not None
        try:
            return await self.looks(where)
        except SurfaceError as exc:
            log.warning("could not look at the thread %s either: %s", where, exc)
            return False
