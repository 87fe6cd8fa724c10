"""The last message handed to the agent, per conversation, in Redis.

A follow-up must not repeat the thread, across replicas and restarts: the marker records,
per conversation, the session it belongs to and the id of the last message the agent was
given. A new session (``new`` / ``/new``) does not match the marker any more, so the next
turn gets the thread again, as an agent with a fresh memory needs. Turns of one
conversation run under its lock (:mod:`core.sessions.gate`), so a GET and a SET suffice.

The marker never moves back to an older message of its session. Turns run in the order
they reached the gate, which is not always the order they were posted in (a Slack retry
comes a minute late, two follow-ups race to Redis): a later message answered first was
given to the agent, and a marker moved back to the older one would have the next turn give
it to the agent again, as thread context.

Both calls are safe to repeat, so a late answer (a burst: the connection pool busy, the
event loop starved) is asked for again, up to ``patience``, before the turn gets the store
notice.
"""

from __future__ import annotations

import json
import re

import redis.asyncio as aioredis

from core.redis import DEFAULT_OP_TIMEOUT, REDIS_PATIENCE, LuaScript, guarded, patiently

__all__ = ["ContextMarker"]

# Move the marker, unless it names a later message of the same session. KEYS[1]: the
# marker. ARGV: 1 the new value (JSON), 2 its session, 3 its message's position (see
# _position; '' when unknown: moved), 4 TTL ms. Returns 1 when moved, else 0.
MOVE_FORWARD = LuaScript(
    "context marker save",
    """
local old = redis.call('GET', KEYS[1])
if old and ARGV[3] ~= '' then
  local ok, data = pcall(cjson.decode, old)
  if ok and type(data) == 'table' and data.session == ARGV[2] and type(data.at) == 'string'
      and data.at > ARGV[3] then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[4])
return 1
""",
)

_NUMBER = re.compile(r"([0-9]{1,32})(?:\.([0-9]{1,16}))?")


class ContextMarker:
    """``{namespace}:context:{conversation}`` → ``{"session": id, "last": message id,
    "at": its position}`` (see :func:`_position`)."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        namespace: str,
        ttl: float,
        op_timeout: float = DEFAULT_OP_TIMEOUT,
        patience: float = REDIS_PATIENCE,
    ) -> None:
        self._redis = redis
        self._namespace = namespace
        self._ttl_ms = max(1, int(ttl * 1000))
        self._op_timeout = op_timeout
        self._patience = patience

    def key(self, conversation: str) -> str:
        return f"{self._namespace}:context:{conversation}"

    async def last(self, conversation: str, session_id: str) -> str | None:
        """The last message this session was given, or None (never, or another session).
        Raises SessionStoreError when Redis fails (or stays silent past ``patience``)."""
        key = self.key(conversation)
        raw = await patiently(
            lambda: guarded("context marker read", self._redis.get(key), within=self._op_timeout),
            patience=self._patience,
        )
        if raw is None:
            return None
        try:
            data = json.loads(raw)
        except (TypeError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("session") != session_id:
            return None
        last = data.get("last")
        return last if isinstance(last, str) else None

    async def handed(self, conversation: str, session_id: str, message_id: str) -> None:
        """Record that the agent of ``session_id`` has been given ``message_id``, unless it
        was given a later message already (see the module docstring)."""
        key = self.key(conversation)
        at = _position(message_id)
        value = json.dumps({"session": session_id, "last": message_id, "at": at})
        await patiently(
            lambda: MOVE_FORWARD(
                self._redis, [key], [value, session_id, at, self._ttl_ms], within=self._op_timeout
            ),
            patience=self._patience,
        )


def _position(message_id: str) -> str:
    """Where a message stands in its conversation, as a string that sorts in posting order:
    the number ending its id (a Slack ``ts`` after the channel, a Discord snowflake),
    zero-padded; "" when the id ends in no such number (then the marker just moves)."""
    found = _NUMBER.fullmatch(message_id.rpartition(":")[2])
    if found is None:
        return ""
    whole, part = found.group(1), found.group(2) or ""
    return f"{whole.zfill(32)}.{part.ljust(16, '0')}"
