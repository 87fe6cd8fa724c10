"""Questions their askers withdrew (deleted the message): never sent to the agent, and a
reply streaming for one stopped.

A deletion can come at any point of its message's turn, on any replica, even before the
message itself (a platform redelivering both late, in any order). So it is told to Redis,
not to a process: :meth:`Withdrawals.withdraw` leaves a mark on the message (the gate's
dedup marks, keyed on the event, for :data:`WITHDRAWN_TTL`) and, in the same script, asks
the conversation's running turn to stop if that turn is the message's. Each turn, once it
holds the conversation's lock and before anything of it reaches the agent, calls
:meth:`Withdrawals.begin`, which atomically finds the mark (the turn is dropped quietly) or
records the turn as the running one (``SessionKeys.running``: its lock token and event).
One of the two scripts runs first, so a withdrawal is never missed: before ``begin`` the
mark drops the turn, after it the stop reaches the turn, whichever replica runs it.

The running record names the lock token, so a stale one (its turn over, the next turn not
yet begun) never matches the lock's holder: a withdrawal never stops another message's
reply.
"""

from __future__ import annotations

from core.redis import LuaScript, guarded, ms
from core.redis import text as as_text
from core.sessions.gate import Ticket, TurnGate
from core.sessions.keys import SessionKeys

__all__ = ["WITHDRAWN_TTL", "Withdrawals"]

DAY = 24 * 3600
WITHDRAWN_TTL = DAY
"""How long a withdrawn message is remembered: longer than any turn waits in its queue
(the gate's ``max_wait``) and than a platform redelivers an event (Slack retries for
minutes; a Discord gateway replays only a resumed session's)."""
RUNNING_TTL_MS = DAY * 1000
"""The running record's life: it outlives any reply; a stale one matches no lock."""

# Withdraw a message. KEYS: 1 its withdrawn mark, 2 lock, 3 stop, 4 running.
# ARGV: 1 mark TTL s, 2 stop TTL ms (the lock TTL), 3 the message's event id.
# Returns {0} when its turn is not running; {1, holder token} when asked to stop.
WITHDRAW = LuaScript(
    "withdraw",
    """
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
local holder = redis.call('GET', KEYS[2])
if not holder then return {0} end
if redis.call('GET', KEYS[4]) ~= holder .. '\\n' .. ARGV[3] then return {0} end
redis.call('SET', KEYS[3], holder, 'PX', ARGV[2])
return {1, holder}
""",
)

# A turn begins (under its lock). KEYS: 1 its message's withdrawn mark, 2 running.
# ARGV: 1 "token\\nevent id", 2 running TTL ms. Returns 0 when withdrawn, else 1.
BEGIN = LuaScript(
    "turn begin",
    """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return 1
""",
)


def _mark(keys: SessionKeys, event_id: str) -> str:
    return keys.seen(f"withdrawn:{event_id}")


class Withdrawals:
    """Withdraw messages and check turns against them; see the module docstring."""

    def __init__(self, gate: TurnGate) -> None:
        self.gate = gate

    async def withdraw(self, conversation: str, event_id: str) -> bool:
        """Mark the message of ``event_id`` withdrawn; True when its reply was streaming
        and is asked to stop (wherever it runs)."""
        gate = self.gate
        keys = SessionKeys(conversation, namespace=gate.namespace)
        reply = await WITHDRAW(
            gate.redis, [_mark(keys, event_id), keys.lock, keys.stop, keys.running],
            [WITHDRAWN_TTL, ms(gate.lock_ttl), event_id], within=gate.op_timeout,
        )  # fmt: skip
        if int(reply[0]) != 1:
            return False
        await gate.signal_stop(conversation, as_text(reply[1]))
        return True

    async def begin(self, ticket: Ticket) -> bool:
        """Whether the ticket's turn may go on (its message not withdrawn); if so, it is
        recorded as the running turn. Safe to repeat."""
        gate = self.gate
        keys = SessionKeys(ticket.conversation, namespace=gate.namespace)
        began = await BEGIN(
            gate.redis, [_mark(keys, ticket.event_id), keys.running],
            [f"{ticket.token}\n{ticket.event_id}", RUNNING_TTL_MS], within=gate.op_timeout,
        )  # fmt: skip
        return bool(began)

    async def withdrawn(self, conversation: str, event_id: str) -> bool:
        """Whether the message of ``event_id`` was withdrawn (one read)."""
        gate = self.gate
        mark = _mark(SessionKeys(conversation, namespace=gate.namespace), event_id)
        found = await guarded("withdrawn mark", gate.redis.exists(mark), within=gate.op_timeout)
        return bool(found)
