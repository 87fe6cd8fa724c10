"""Who may stop a reply or start a conversation afresh (``[access] stop`` and ``admins``).

``stop = "asker"`` (the default): a reply is stopped by the user who asked for it or by an
admin; a conversation is reset by the user who started its session or by an admin.
``stop = "anyone"``: anyone in the conversation may do both (threadcast's behaviour before
the setting existed).

Who asked the running turn is recorded by :mod:`core.routing.pins` when the turn starts
(``asker`` and ``asker_turn`` in the session's metadata), and the running turn is the one
whose number is the session's turn count (``turns``, counted when the turn took the
conversation's lock). The Stop script compares both atomically with the lock, so a Stop
meant for one turn can never stop the next one, asked by someone else.
"""

from __future__ import annotations

from typing import Literal

from core.redis import LuaScript, guarded, ms, text
from core.sessions.gate import TurnGate
from core.sessions.keys import SessionKeys

__all__ = ["GUARDED_STOP", "Controls", "StopResult"]

StopResult = Literal["stopped", "idle", "refused"]
"""``stopped``: the running reply was asked to stop; ``idle``: nothing was streaming;
``refused``: a reply streams, but this user may not stop it."""

# Ask the running turn to stop if this user may. KEYS: 1 lock, 2 stop, 3 meta.
# ARGV: 1 stop TTL ms (the lock TTL), 2 user, 3 '1' when the user may stop any reply.
# Returns {0} nothing running; {1, holder token} stop requested; {2} refused.
GUARDED_STOP = LuaScript(
    "guarded stop",
    """
local holder = redis.call('GET', KEYS[1])
if not holder then return {0} end
if ARGV[3] ~= '1' then
  local meta = redis.call('HMGET', KEYS[3], 'asker', 'asker_turn', 'turns')
  if meta[1] ~= ARGV[2] or not meta[2] or meta[2] ~= meta[3] then return {2} end
end
redis.call('SET', KEYS[2], holder, 'PX', ARGV[1])
return {1, holder}
""",
)

_RESULTS: dict[int, StopResult] = {0: "idle", 1: "stopped", 2: "refused"}


class Controls:
    """Stop and reset, each checked against who asks (see the module docstring)."""

    def __init__(self, gate: TurnGate) -> None:
        self.gate = gate

    async def stop(self, conversation: str, *, user: str, any_reply: bool) -> StopResult:
        """Stop the running reply if ``user`` may (``any_reply``: admin, or stop = anyone)."""
        gate = self.gate
        keys = SessionKeys(conversation, namespace=gate.namespace)
        reply = await GUARDED_STOP(
            gate.redis, [keys.lock, keys.stop, keys.meta],
            [ms(gate.lock_ttl), user, "1" if any_reply else "0"],
            within=gate.op_timeout,
        )  # fmt: skip
        result = _RESULTS[int(reply[0])]
        if result == "stopped":
            await gate.signal_stop(conversation, text(reply[1]))
        return result

    async def reset(self, conversation: str, *, user: str, any_conversation: bool) -> str | None:
        """A fresh session id, or None when ``user`` may not reset this conversation."""
        gate = self.gate
        if not any_conversation:
            meta = SessionKeys(conversation, namespace=gate.namespace).meta
            starter = await guarded(
                "session starter", gate.redis.hget(meta, "starter"), within=gate.op_timeout
            )
            if starter is not None and text(starter) != user:
                return None
        return await gate.new_session(conversation)
