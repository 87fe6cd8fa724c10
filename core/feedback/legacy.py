"""Feedback stored before the ``{feedback}`` key layout, carried over to it.

Before the vote and its count became one script (:data:`core.feedback.store.PUT_VOTE`),
votes lived at ``<ns>:feedback:vote:<platform>:<workspace>:<channel>:<message>:<voter>``
and the counts in the hash ``<ns>:feedback:counts``. Nothing here is needed once that data
is gone:

- **counts**: :func:`carry_counts` adds the old hash into the new one and deletes it, the
  first time each :class:`~core.feedback.store.FeedbackStore` is used. Remove it (with the
  call in the store) once every replica runs a version with it and has started once: the
  old hash is then gone (``EXISTS <ns>:feedback:counts`` is 0);
- **votes**: a vote that finds none under its new key looks up the old one
  (:func:`legacy_vote`) and, if there is one, takes it as the voter's previous vote (its
  count moves as for a changed vote, in the same script that writes the new key; then the
  old key is deleted). Remove it (with ``PUT_VOTE``'s sixth argument) 30 days after the
  upgrade: the old vote keys have expired by then (they were written with the votes' TTL).

Replicas of the old version still running during a rolling upgrade write old keys: their
counts are carried by the next start of a new replica; a vote changed on an old replica
after a new one stored it is counted twice (the old version never sees the new key).
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import redis.asyncio as aioredis

from core.feedback.model import ReplyRef
from core.redis import LuaScript, guarded, text

__all__ = [
    "carry_counts",
    "drop_legacy_vote",
    "legacy_counts_key",
    "legacy_vote",
    "legacy_vote_key",
]

# The field of the old counts hash naming who claimed it (counts' fields are always
# ``<vote>:<agent>``, with a colon: this one is none of them).
CLAIM_FIELD = "carry"

# KEYS: 1 the old counts. ARGV: 1 the claim field, 2 a fresh token. Marks the hash as
# carried by that token unless it already is (then by the earlier one), and returns it
# all: field, value... (the token under the claim field); nil when there is no old hash.
CLAIM_COUNTS = LuaScript(
    "feedback counts claim",
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HGETALL', KEYS[1])
""",
)

# KEYS: 1 the new counts, 2 the tokens already carried (a set). ARGV: 1 the token, then
# field, value... Adds the values to the new counts unless that token was carried before.
# Returns 1 when it added them, 0 when they were already there.
CARRY_COUNTS = LuaScript(
    "feedback counts carry",
    """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
for i = 2, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
""",
)

# KEYS: 1 the old counts. ARGV: 1 the claim field, 2 the token. Deletes the old hash if that
# token still claims it.
DROP_COUNTS = LuaScript(
    "feedback counts drop",
    """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then return redis.call('DEL', KEYS[1]) end
return 0
""",
)


def legacy_counts_key(namespace: str) -> str:
    return f"{namespace}:feedback:counts"


def carried_key(namespace: str) -> str:
    """The tokens of the old counts hashes already added (in the new counts' slot)."""
    return f"{namespace}:{{feedback}}:counts:carried"


def legacy_vote_key(namespace: str, ref: ReplyRef, voter: str) -> str:
    """Where the old version stored ``voter``'s vote on ``ref`` (its very formula)."""
    parts = (ref.platform, ref.workspace, ref.channel, ref.message)
    reply_key = f"{namespace}:feedback:reply:" + ":".join(quote(p, safe="") for p in parts)
    return reply_key.replace(":reply:", ":vote:", 1) + ":" + quote(voter, safe="")


async def carry_counts(redis: aioredis.Redis, namespace: str, counts_key: str) -> bool:
    """Add the old counts hash into ``counts_key`` and delete it; True if it was carried now.

    Safe however many replicas run it at once, and again and again. Redis Cluster puts the
    two hashes in different slots, so no one step can move the counts; three steps do,
    each atomic in one slot:

    1. claim (old slot): the first caller's token is written into the old hash, and every
       caller reads the hash back with that same token;
    2. carry (new slot): the values are added only by the first caller with that token
       (the set of tokens carried, in the new slot, says whether it was) — so a replica
       starting at the same time, or one that died after this step, adds nothing again;
    3. drop (old slot): the hash is deleted if that token still claims it.

    A replica dying after step 1 or 2 leaves the claimed hash: whoever runs this next reads
    the same token and finishes (adding nothing twice). An old hash written again later (by
    an old replica during a rolling upgrade) holds only what was counted since; it has no
    token, so it is carried in turn, under a new one. Only a count an old replica writes in
    the instant between steps 1 and 3 would be lost with the hash.
    """
    old = legacy_counts_key(namespace)
    raw = await CLAIM_COUNTS(redis, [old], [CLAIM_FIELD, uuid.uuid4().hex])
    if not raw:
        return False
    stored = dict(zip(map(text, raw[::2]), map(text, raw[1::2]), strict=True))
    token = stored.pop(CLAIM_FIELD)
    values: list[str | int] = [token]
    for field, value in stored.items():
        values += [field, int(value)]
    carried = await CARRY_COUNTS(redis, [counts_key, carried_key(namespace)], values)
    await DROP_COUNTS(redis, [old], [CLAIM_FIELD, token])
    return bool(carried)


async def legacy_vote(redis: aioredis.Redis, namespace: str, ref: ReplyRef, voter: str) -> Any:
    """The vote the old version stored for ``voter`` on ``ref`` (JSON), or None."""
    key = legacy_vote_key(namespace, ref, voter)
    return await guarded("feedback legacy vote", redis.get(key))


async def drop_legacy_vote(
    redis: aioredis.Redis, namespace: str, ref: ReplyRef, voter: str
) -> None:
    """Delete it, once the new key holds the vote (or a later one)."""
    key = legacy_vote_key(namespace, ref, voter)
    await guarded("feedback legacy vote", redis.delete(key))
