"""Crash and outage recovery: every turn in flight is registered in Redis; what its owner
could not finish, another replica (or a later scan of its own) finishes.

A replica that dies (SIGKILL, OOM, node lost) leaves messages showing a partial text, the
streaming indicator and a Stop button, a thinking status, and messages that waited behind
them unanswered; a platform outage longer than a reply's retries leaves final edits unmade.
Every turn is therefore registered from the moment it is accepted until its messages are
final, and every replica runs a reaper.

One job per module:

- :mod:`~core.ops.recovery.registry`: the Redis scripts and :class:`ReplyRegistry`, the only
  code that runs them (the key layout is in its docstring);
- :mod:`~core.ops.recovery.record`: what is kept of one reply;
- :mod:`~core.ops.recovery.heartbeat`: the owner's side, one liveness beat per process and
  one :class:`RegisteredReply` per turn;
- :mod:`~core.ops.recovery.owed`: the owner's final edits a surface still owes once the
  reply's record is gone (a Slack stream's queued stop), :class:`OwedRecords`;
- :mod:`~core.ops.recovery.reaper`: the other side, :class:`Reaper`;
- :mod:`~core.ops.recovery.service`: :class:`Recovery`, the three wired for the runtime.

Timing: an owner beats every ``ttl / 3``; reapers scan every ``interval``; so an orphan is
finished at most ``ttl + interval`` after its owner died (plus its surface calls).
Exactly once: a reaper takes one reply at a time atomically, for a lease (Lua) that it
renews while it finishes the reply (however long the platform's budget keeps it waiting);
one that dies while finishing loses it after ``lease`` and another retries.
"""

from core.ops.recovery.heartbeat import Heartbeat, RegisteredReply
from core.ops.recovery.owed import OwedRecords
from core.ops.recovery.reaper import Reaper
from core.ops.recovery.record import Page, ReplyRecord
from core.ops.recovery.registry import RecoveryKeys, ReplyRegistry, replica_id
from core.ops.recovery.service import Recovery

__all__ = [
    "Heartbeat",
    "OwedRecords",
    "Page",
    "Reaper",
    "Recovery",
    "RecoveryKeys",
    "RegisteredReply",
    "ReplyRecord",
    "ReplyRegistry",
    "replica_id",
]
