"""Votes in Redis: one per person per reply, changeable, and the counts per agent.

Keys:

- ``<ns>:feedback:reply:<platform>:<workspace>:<channel>:<message>``: the reply's
  :class:`ReplyTag` (JSON), written before its controls are offered (as soon as the
  message is posted: the last one of a reply that then completes gets them);
- ``<ns>:{feedback}:vote:<...same...>:<voter>``: that person's :class:`VoteRecord` (JSON),
  replaced by a script (:data:`PUT_VOTE`) that returns the previous one and moves the
  counts in the same atomic step (a changed vote moves one count from the old value to
  the new one), so the counts always say what the votes say, even when the call times out
  or the process dies halfway; a vote cast again without a reason leaves the stored one as
  it is, so a 👎's reason, which may reach Redis before the 👎 itself (the "why?" modal is
  shown before the vote is stored), is never replaced, even for a moment;
- ``<ns>:{feedback}:asked:<...same...>:<voter>``: a set of that person's 👎 clicks whose
  "why?" modal was opened (an id per click, the modal carries it) and whose 👎 has been
  stored: a reason answering one of them, with a 👍 standing, is about a 👎 the person has
  taken back since, and is not stored (:meth:`FeedbackStore.reason`); with no 👎 of its
  click stored yet, the reason has just beaten its 👎 to Redis and records it;
- ``<ns>:{feedback}:counts``: a hash ``<vote>:<agent>`` → votes standing now.

The vote keys, the 👎 clicks and the counts share the ``{feedback}`` hash tag: one script
writes a vote, its count and its click, which Redis Cluster allows only within one slot
(the quotas do the same with ``{quota}``, see :mod:`core.governance.keys`).

Reply, vote and click keys expire after ``ttl`` (30 days by default): a vote on an older
reply is not recorded (the person is told).

Votes and counts stored before this key layout are carried over (:mod:`core.feedback.legacy`):
the counts when the store is first used, a vote when its voter votes again.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import redis.asyncio as aioredis

from core.feedback import legacy
from core.feedback.model import ReplyRef, ReplyTag, VoteRecord
from core.redis import LuaScript, guarded, text

__all__ = ["DEFAULT_FEEDBACK_TTL", "PUT_VOTE", "FeedbackStore"]

DEFAULT_FEEDBACK_TTL = 30 * 24 * 3600

# Store a vote unless it is the stored vote cast again without a reason, and move the
# counts with it. KEYS: 1 the vote, 2 the counts, 3 the voter's stored 👎 clicks. ARGV:
# 1 the record (JSON), 2 its vote, 3 '1' when it has a reason, 4 TTL (s), 5 its agent (''
# for none), 6 the voter's vote under the old key layout when there is none under KEYS[1]
# (core.feedback.legacy): '?' not looked up yet, '' none, else that record (JSON); 7 the
# 👎 click casting this vote ('' none), noted in KEYS[3] once the 👎 stands; 8 the 👎 click
# a reason answers ('' none): when that click is in KEYS[3] and the stored vote is not a
# 👎, nothing is written. Returns the record stored before (nil if none), which stays
# when nothing was written; 0 (nothing written) when there is none and ARGV[6] is '?'; 1
# (nothing written) for a reason about a 👎 taken back. A stored record that is not a vote
# (unreadable) counts as none, as FeedbackStore reads it; the count it replaces is taken
# off under the agent it was counted for.
PUT_VOTE = LuaScript(
    "feedback vote",
    """
local previous = redis.call('GET', KEYS[1])
local legacy = false
if not previous then
  if ARGV[6] == '?' then return 0 end
  if ARGV[6] ~= '' then previous, legacy = ARGV[6], true end
end
local old, old_agent = nil, ''
if previous then
  local ok, stored = pcall(cjson.decode, previous)
  if ok and type(stored) == 'table' and (stored.vote == 'up' or stored.vote == 'down') then
    old = stored.vote
    if type(stored.agent) == 'string' then old_agent = stored.agent end
  end
end
if ARGV[8] ~= '' and old ~= 'down' and redis.call('SISMEMBER', KEYS[3], ARGV[8]) == 1 then
  return 1
end
if ARGV[7] ~= '' then
  redis.call('SADD', KEYS[3], ARGV[7])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
end
if old == ARGV[2] and ARGV[3] ~= '1' then
  if legacy then redis.call('SET', KEYS[1], previous, 'EX', ARGV[4]) end
  return previous
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
if old ~= ARGV[2] then
  redis.call('HINCRBY', KEYS[2], ARGV[2] .. ':' .. ARGV[5], 1)
  if old then redis.call('HINCRBY', KEYS[2], old .. ':' .. old_agent, -1) end
end
return previous
""",
)


def _part(component: str) -> str:
    return quote(component, safe="")


class FeedbackStore:
    """See the module docstring."""

    def __init__(
        self, redis: aioredis.Redis, *, namespace: str, ttl: int = DEFAULT_FEEDBACK_TTL
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.ttl = ttl
        self._carried = False  # the old counts (core.feedback.legacy), by this store
        self._carrying = asyncio.Lock()

    def _reply_key(self, ref: ReplyRef) -> str:
        parts = (ref.platform, ref.workspace, ref.channel, ref.message)
        return f"{self.namespace}:feedback:reply:" + ":".join(_part(p) for p in parts)

    def _vote_key(self, ref: ReplyRef, voter: str) -> str:
        parts = (ref.platform, ref.workspace, ref.channel, ref.message, voter)
        return f"{self.namespace}:{{feedback}}:vote:" + ":".join(_part(p) for p in parts)

    def _asked_key(self, ref: ReplyRef, voter: str) -> str:
        parts = (ref.platform, ref.workspace, ref.channel, ref.message, voter)
        return f"{self.namespace}:{{feedback}}:asked:" + ":".join(_part(p) for p in parts)

    @property
    def counts_key(self) -> str:
        return f"{self.namespace}:{{feedback}}:counts"

    async def _carry(self) -> None:
        """Carry the counts of the old key layout over, on the store's first use (once
        done, a flag read; a failure is tried again on the next use)."""
        if self._carried:
            return
        async with self._carrying:
            if not self._carried:
                await legacy.carry_counts(self.redis, self.namespace, self.counts_key)
                self._carried = True

    async def tag(self, tag: ReplyTag) -> None:
        await self._carry()
        body = json.dumps(tag.to_json())
        await guarded("feedback tag", self.redis.set(self._reply_key(tag.ref), body, ex=self.ttl))

    async def reply(self, ref: ReplyRef) -> ReplyTag | None:
        raw = await guarded("feedback reply", self.redis.get(self._reply_key(ref)))
        return None if raw is None else ReplyTag.from_json(json.loads(text(raw)))

    async def vote(self, record: VoteRecord, *, click: str | None = None) -> VoteRecord | None:
        """Store ``record`` (replacing the voter's previous vote, returned; unless it is
        that vote again without a reason: then the stored one, reason and time, stays) and
        move the counts, in one atomic step. ``click``: the 👎 click casting it, whose
        "why?" was asked, noted as stored (see :meth:`reason`).

        A voter's first vote on a reply under this key layout costs one GET more: their
        vote under the old one (:mod:`core.feedback.legacy`), which, when there, is the
        previous vote (then deleted), and a second run of the script with it."""
        _, previous = await self._put(record, click=click, answers=None)
        return previous

    async def reason(
        self, record: VoteRecord, *, answers: str | None
    ) -> tuple[bool, VoteRecord | None]:
        """Store ``record``, a 👎 with the reason its "why?" modal gave, as :meth:`vote`
        does, unless the modal's 👎 click (``answers``; None: not known, a modal opened
        before clicks were noted) was stored and the vote standing now is not a 👎: the
        voter took that 👎 back (a 👍 since, on another client), and the reason is not
        theirs to give any more. (stored, the vote before it, or the one standing)."""
        return await self._put(record, click=None, answers=answers)

    async def _put(
        self, record: VoteRecord, *, click: str | None, answers: str | None
    ) -> tuple[bool, VoteRecord | None]:
        await self._carry()
        ref, voter = record.tag.ref, record.voter
        keys = [self._vote_key(ref, voter), self.counts_key, self._asked_key(ref, voter)]
        body = json.dumps(record.to_json())
        has_reason = "1" if record.reason is not None else "0"
        args: list[str | int] = [body, record.vote, has_reason, self.ttl, record.tag.agent or ""]
        clicks = [click or "", answers or ""]
        raw = await PUT_VOTE(self.redis, keys, [*args, "?", *clicks])
        if raw == 0:  # no vote under the new key: is there an old one?
            old = await legacy.legacy_vote(self.redis, self.namespace, ref, voter)
            legacy_arg = "" if old is None else text(old)
            raw = await PUT_VOTE(self.redis, keys, [*args, legacy_arg, *clicks])
            if old is not None and raw != 1:
                await legacy.drop_legacy_vote(self.redis, self.namespace, ref, voter)
        if raw == 1:  # a reason about a 👎 taken back: nothing written
            return False, await self.current(ref, voter)
        return True, None if raw is None else _record(record.tag, json.loads(text(raw)))

    async def current(self, ref: ReplyRef, voter: str) -> VoteRecord | None:
        tag = await self.reply(ref)
        if tag is None:
            return None
        raw = await guarded("feedback vote", self.redis.get(self._vote_key(ref, voter)))
        if raw is None:  # none yet under this key layout: the old one's, if any
            raw = await legacy.legacy_vote(self.redis, self.namespace, ref, voter)
        return None if raw is None else _record(tag, json.loads(text(raw)))

    async def counts(self) -> dict[str, dict[str, int]]:
        """``{agent: {"up": n, "down": n}}`` of the votes standing now."""
        await self._carry()
        raw: dict[Any, Any] = await guarded("feedback counts", self.redis.hgetall(self.counts_key))
        found: dict[str, dict[str, int]] = {}
        for field, value in raw.items():
            vote, _, agent = text(field).partition(":")
            found.setdefault(agent, {"up": 0, "down": 0})[vote] = int(text(value))
        return found


def _record(tag: ReplyTag, data: dict[str, Any]) -> VoteRecord | None:
    vote = data.get("vote")
    if vote not in ("up", "down"):
        return None
    reason = data.get("reason")
    return VoteRecord(tag, str(data.get("voter", "")), vote, reason if isinstance(reason, str)
                      else None, str(data.get("at", "")))  # fmt: skip
