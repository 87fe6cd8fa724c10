"""Whether a follow-up (a thread message that does not mention the bot) is the bot's to
answer: only in a thread that already has a conversation, which Redis knows.

A Redis too slow to say (a burst) must not drop the message without a word, as it did: the
question is a read, safe to repeat, so it is asked again while Redis answers late (the
turn gate's patience, :meth:`~core.sessions.gate.TurnGate.ask`). Still unanswered (Redis
down), a thread this process answered lately is answered all the same — the turn then
meets the same failure and the person gets the store notice, or Redis is back and the
reply comes; any other thread's message is left alone and logged: the bot must not speak
up in every thread of its channels while its store is down.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

from core.errors import SessionStoreError
from core.sessions.gate import TurnGate

__all__ = ["FollowUps"]

log = logging.getLogger(__name__)

REMEMBERED = 10_000
"""Conversations this process answered lately, kept in memory (a few hundred kB at most)."""


class FollowUps:
    """See the module docstring."""

    def __init__(self, gate: TurnGate, *, remembered: int = REMEMBERED) -> None:
        self.gate = gate
        self.remembered = remembered
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
        """Whether the follow-up ``message_id`` in ``conversation`` is to be answered."""
        try:
            return await self.has_conversation(conversation)
        except SessionStoreError as exc:
            if conversation in self._recent:
                log.warning("could not tell whether %s has a conversation (%s): answered, as "
                            "this process answered there lately", message_id, exc)  # fmt: skip
                return True
            log.warning("follow-up %s not answered: could not tell whether its thread has a "
                        "conversation: %s", message_id, exc)  # fmt: skip
            return False
