"""A conversation keeps the agent that started it: the choice is stored with its session.

The agent's name (and the route's) sit in the conversation's session metadata hash
(:attr:`core.sessions.keys.SessionKeys.meta`), which lives exactly as long as the session
id: the "new conversation" command and the session's expiry drop both together, so the
next message is routed afresh. The same script records who asked the turn that now holds
the conversation (``asker``, ``asker_turn``) and who started the session (``starter``):
what :mod:`core.governance.controls` checks before a Stop or a reset.

One round trip per turn, after the turn gate let it in (the session exists then, and the
conversation's turns run one at a time, so a pin is never raced by the same conversation).
"""

from __future__ import annotations

from collections.abc import Collection

import redis.asyncio as aioredis

from core.redis import DEFAULT_OP_TIMEOUT, LuaScript, text
from core.routing.routes import RouteChoice
from core.sessions.keys import SessionKeys

__all__ = ["START_TURN", "AgentPins"]

# A turn starts: pin the agent unless one is pinned and still configured; record the asker.
# KEYS[1]: the conversation's meta hash.
# ARGV: 1 agent, 2 route (the routes' choice for this turn), 3 user, 4 turn number,
#       5 the configured agents' names, newline-separated.
# Returns {agent, route}: the conversation's. A meta hash that is gone (expired) is not
# recreated: without a TTL it would live for ever; the choice is then simply not kept.
START_TURN = LuaScript(
    "turn start",
    """
if redis.call('EXISTS', KEYS[1]) == 0 then return {ARGV[1], ARGV[2]} end
local pinned = redis.call('HMGET', KEYS[1], 'agent', 'route')
local known = false
if pinned[1] then
  for name in string.gmatch(ARGV[5], '[^\\n]+') do
    if name == pinned[1] then known = true end
  end
end
if not known then
  redis.call('HSET', KEYS[1], 'agent', ARGV[1], 'route', ARGV[2])
  pinned = {ARGV[1], ARGV[2]}
end
redis.call('HSETNX', KEYS[1], 'starter', ARGV[3])
redis.call('HSET', KEYS[1], 'asker', ARGV[3], 'asker_turn', ARGV[4])
return pinned
""",
)


class AgentPins:
    """Reads and writes the conversation's agent (see the module docstring)."""

    def __init__(
        self, redis: aioredis.Redis, *, namespace: str, op_timeout: float = DEFAULT_OP_TIMEOUT
    ) -> None:
        self.redis = redis
        self.namespace = namespace
        self.op_timeout = op_timeout

    async def start_turn(
        self,
        conversation: str,
        choice: RouteChoice,
        *,
        known: Collection[str],
        user: str,
        turn_number: int,
    ) -> RouteChoice:
        """The conversation's agent: the pinned one while it is configured, else
        ``choice`` (pinned from now on). Raises SessionStoreError when Redis fails."""
        meta = SessionKeys(conversation, namespace=self.namespace).meta
        reply = await START_TURN(
            self.redis, [meta],
            [choice.agent, choice.route, user, turn_number, "\n".join(known)],
            within=self.op_timeout,
        )  # fmt: skip
        return RouteChoice(text(reply[0]), text(reply[1]))
