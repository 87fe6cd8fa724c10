"""A 👎 and its reason race each other: Discord and Slack show the "why?" modal before the
vote is stored, so a quick submission can store the reason first. Whichever lands first,
the vote ends as 👎 with its reason, counted once, and the reason is never replaced. But a
reason given after its 👎 was stored, then taken back by a 👍, is not stored."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from core.feedback.model import ReplyRef, ReplyTag, VoteRecord
from core.feedback.service import Feedback
from core.feedback.store import FeedbackStore

REF = ReplyRef("discord", "G1", "C1", "M1")
VOTER = "U1"


@pytest.fixture
async def feedback(redis_client: aioredis.Redis, namespace: str) -> AsyncIterator[Feedback]:
    store = FeedbackStore(redis_client, namespace=namespace)
    await store.tag(ReplyTag(REF, None, "conversation", "s-1", "support"))
    yield Feedback(store)


class ReasonFirst(FeedbackStore):
    """A store on which the modal's reason lands while a 👎 is on its way: after the vote
    was read and decided on, before it is written. It notes what a reader sees just after
    the vote's write."""

    feedback: Feedback
    seen: VoteRecord | None = None

    async def vote(self, record: VoteRecord, *, click: str | None = None) -> VoteRecord | None:
        if record.vote != "down" or record.reason is not None or self.seen is not None:
            return await super().vote(record, click=click)
        await self.feedback.reason(REF, VOTER, "Off topic.", asked=click)
        previous = await super().vote(record, click=click)
        self.seen = await self.current(REF, VOTER)
        return previous


async def test_a_vote_landing_after_its_reason_never_replaces_it(
    redis_client: aioredis.Redis, namespace: str
) -> None:
    store = ReasonFirst(redis_client, namespace=namespace)
    store.feedback = feedback = Feedback(store)
    await store.tag(ReplyTag(REF, None, "conversation", "s-1", "support"))
    await feedback.vote(REF, VOTER, "up")
    await feedback.vote(REF, VOTER, "down", click="click-1")  # its modal answers first
    assert store.seen is not None  # not even for a moment:
    assert (store.seen.vote, store.seen.reason) == ("down", "Off topic.")
    current = await store.current(REF, VOTER)
    assert current is not None and (current.vote, current.reason) == ("down", "Off topic.")
    assert await store.counts() == {"support": {"up": 0, "down": 1}}


async def test_a_reason_landing_after_its_vote_joins_it(feedback: Feedback) -> None:
    await feedback.vote(REF, VOTER, "up")
    changed = await feedback.vote(REF, VOTER, "down")
    assert changed.status == "changed"
    await feedback.reason(REF, VOTER, "  Off topic. ")
    current = await feedback.store.current(REF, VOTER)
    assert current is not None and (current.vote, current.reason) == ("down", "Off topic.")
    assert await feedback.store.counts() == {"support": {"up": 0, "down": 1}}


async def test_the_same_vote_again_keeps_its_reason_and_time(feedback: Feedback) -> None:
    await feedback.vote(REF, VOTER, "down")
    given = await feedback.reason(REF, VOTER, "Wrong answer.")
    again = await feedback.vote(REF, VOTER, "down")
    assert again.status == "same" and again.record == given.record
    # A changed vote starts without the old vote's reason.
    up = await feedback.vote(REF, VOTER, "up")
    assert up.status == "changed" and up.record is not None and up.record.reason is None
    assert await feedback.store.counts() == {"support": {"up": 1, "down": 0}}


async def test_a_reason_about_a_thumbs_down_taken_back_is_not_stored(feedback: Feedback) -> None:
    """👎 (its "why?" modal opened), then 👍 from another client, then the modal's reason:
    it used to record the 👎 again with it, undoing the later 👍. The 👍 stands; a 👎 of
    another click (its own modal), and then its reason, go on as usual."""
    await feedback.vote(REF, VOTER, "down", click="phone")
    await feedback.vote(REF, VOTER, "up")
    late = await feedback.reason(REF, VOTER, "Off topic.", asked="phone")
    assert late.status == "stale" and late.record is not None and late.record.vote == "up"
    current = await feedback.store.current(REF, VOTER)
    assert current is not None and (current.vote, current.reason) == ("up", None)
    assert await feedback.store.counts() == {"support": {"up": 1, "down": 0}}

    assert (await feedback.vote(REF, VOTER, "down", click="desktop")).status == "changed"
    # The phone's reason again: a 👎 stands now, which it is about as much as any.
    assert (await feedback.reason(REF, VOTER, "Wrong.", asked="phone")).status == "same"
    current = await feedback.store.current(REF, VOTER)
    assert current is not None and (current.vote, current.reason) == ("down", "Wrong.")
    assert await feedback.store.counts() == {"support": {"up": 0, "down": 1}}
