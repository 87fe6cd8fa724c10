"""Feedback, as the bots use it: offer controls on a reply, record a vote or its reason.

A vote is stored (:class:`FeedbackStore`), counted in Prometheus
(``threadcast_feedback_votes{agent, vote}``: every vote cast, a changed vote counted under
its new value) and posted to the webhook when one is configured, in the background. What
the voter is told is the bot's to say (ephemerally) from the :class:`VoteResult`.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, replace
from typing import Literal

from prometheus_client import Counter

from core.feedback.model import REASON_MAX_CHARS, ReplyRef, ReplyTag, VoteRecord, VoteValue
from core.feedback.store import FeedbackStore
from core.feedback.webhook import FeedbackWebhook
from core.ops.metrics import REGISTRY

__all__ = ["Feedback", "VoteResult"]

log = logging.getLogger(__name__)

_VOTES = Counter(
    "threadcast_feedback_votes",
    "Votes cast on replies (a changed vote counts under its new value), per agent.",
    ["agent", "vote"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class VoteResult:
    """``recorded`` (first vote), ``changed``, ``same`` (clicked again), ``unknown`` (not a
    reply the bot offered controls on, or older than the votes are kept), or ``stale`` (a
    reason about a 👎 the voter has taken back since: not stored; ``record`` is the vote
    standing)."""

    status: Literal["recorded", "changed", "same", "unknown", "stale"]
    record: VoteRecord | None = None


class Feedback:
    """See the module docstring."""

    def __init__(self, store: FeedbackStore, webhook: FeedbackWebhook | None = None) -> None:
        self.store = store
        self.webhook = webhook

    async def offer(self, tag: ReplyTag) -> None:
        """Remember the reply the controls are put on (before they are shown)."""
        await self.store.tag(tag)

    async def vote(
        self, ref: ReplyRef, voter: str, vote: VoteValue, *, click: str | None = None
    ) -> VoteResult:
        """Record ``vote``; the same vote cast again changes nothing (its reason stays).
        ``click``: a 👎's click id when its "why?" modal was opened (the modal carries it:
        see :meth:`reason`)."""
        tag = await self.store.reply(ref)
        if tag is None:
            return VoteResult("unknown")
        record = VoteRecord(tag, voter, vote, None, _now())
        previous = await self.store.vote(record, click=click if vote == "down" else None)
        if previous is not None and previous.vote == vote:
            return VoteResult("same", previous)  # stored as it was (see the store)
        _VOTES.labels(tag.agent or "", vote).inc()
        self._publish(record)
        return VoteResult("recorded" if previous is None else "changed", record)

    async def reason(
        self, ref: ReplyRef, voter: str, reason: str, *, asked: str | None = None
    ) -> VoteResult:
        """Attach ``reason`` to the voter's vote on ``ref`` (a 👎's optional why), given in
        the modal the 👎 click ``asked`` opened (None: a modal that does not say). A reason
        is only asked after a 👎: one that arrives before that vote is stored records the
        👎 with it (replacing an earlier 👍; the vote, arriving next, then changes
        nothing). But once that 👎 was stored, a 👍 standing now was cast after it (on
        another client, the modal still open): the person took the 👎 back, and the reason
        is ``stale``, not stored (recording it would undo their latest vote)."""
        why = reason.strip()[:REASON_MAX_CHARS] or None
        current = await self.store.current(ref, voter)
        if current is None or current.vote != "down":
            tag = current.tag if current is not None else await self.store.reply(ref)
            if tag is None:
                return VoteResult("unknown")
            current = VoteRecord(tag, voter, "down", None, _now())
        record = replace(current, reason=why, at=_now())
        stored, previous = await self.store.reason(record, answers=asked)
        if not stored:
            log.info("feedback: a reason on %s by %s not stored: the 👎 was taken back",
                     ref.message, voter)  # fmt: skip
            return VoteResult("stale", previous)
        if previous is None or previous.vote != "down":  # the 👎 itself counted once
            _VOTES.labels(record.tag.agent or "", "down").inc()
        self._publish(record)
        return VoteResult("same", record)

    async def no_reason(self, ref: ReplyRef, voter: str) -> VoteResult:
        """A "why?" submitted empty: nothing is written (the 👎 was recorded on its click;
        writing it again could undo a 👍 the voter cast since, on another client).
        ``same`` with the voter's vote standing now (None: none stored, or not yet), or
        ``unknown``."""
        current = await self.store.current(ref, voter)
        if current is not None:
            return VoteResult("same", current)
        return VoteResult("unknown" if await self.store.reply(ref) is None else "same")

    def _publish(self, record: VoteRecord) -> None:
        log.info("feedback: %s on %s by %s", record.vote, record.tag.ref.message, record.voter)
        if self.webhook is not None:
            self.webhook.send(record.to_json())

    async def aclose(self) -> None:
        if self.webhook is not None:
            await self.webhook.aclose()


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
