"""The Lua scripts behind sessions and the turn gate, one named constant each.

Every script touches only the keys of one conversation (:class:`SessionKeys`), which share
the hash tag ``{<conversation>}``: one Redis Cluster slot per script. Time comes from Redis
(``TIME``) so replicas with skewed clocks agree on expiries; Redis >= 5 replicates scripts
by effects, so calling ``TIME`` before writing is allowed (the embedded server is 6.2).
"""

from __future__ import annotations

from core.redis import NOW_MS, LuaScript

__all__ = [
    "CANCEL", "ENTER", "INFO", "LEAVE", "NEW_SESSION", "POLL", "RETAKE", "SEEN", "SESSION",
]  # fmt: skip

# Shared helpers, prepended to the scripts that use them.

# Get-or-create the session id (SET NX) and slide its TTL and its metadata's.
_TOUCH_SESSION = """
local function touch_session(skey, mkey, candidate, ttl, now)
  local sid = candidate
  if redis.call('SET', skey, candidate, 'NX', 'PX', ttl) then
    redis.call('DEL', mkey)
  else
    sid = redis.call('GET', skey)
    redis.call('PEXPIRE', skey, ttl)
  end
  redis.call('HSETNX', mkey, 'created_ms', string.format('%d', now))
  redis.call('PEXPIRE', mkey, ttl)
  return sid
end
"""

# Count a turn that starts now.
_START_TURN = """
local function start_turn(mkey, now)
  redis.call('HSET', mkey, 'last_turn_ms', string.format('%d', now))
  return redis.call('HINCRBY', mkey, 'turns', 1)
end
"""

# Drop waiters whose expiry passed (their replica died): they must not block the queue.
_PURGE_DEAD = """
local function purge_dead(qkey, akey, now)
  local dead = redis.call('ZRANGEBYSCORE', akey, '-inf', now)
  for _, token in ipairs(dead) do
    redis.call('ZREM', qkey, token)
    redis.call('ZREM', akey, token)
  end
end
"""

# What a script that may take the turn lock needs (ENTER and POLL).
_TURN_HELPERS = NOW_MS + _TOUCH_SESSION + _START_TURN + _PURGE_DEAD

# Get-or-create a session id. KEYS[1]: session; KEYS[2]: meta.
# ARGV[1]: candidate id; ARGV[2]: session TTL ms. Returns the session id.
SESSION = LuaScript(
    "session get",
    NOW_MS
    + _TOUCH_SESSION
    + """
return touch_session(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now_ms())
""",
)

# Replace the session id (the "new conversation" command). KEYS[1]: session; KEYS[2]: meta.
# ARGV[1]: the new id; ARGV[2]: session TTL ms. Returns the new id.
NEW_SESSION = LuaScript(
    "new session",
    NOW_MS
    + _TOUCH_SESSION
    + """
redis.call('DEL', KEYS[1], KEYS[2])
return touch_session(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now_ms())
""",
)

# Read a session without touching it. KEYS[1]: session; KEYS[2]: meta.
# Returns {} when there is no session, else {id, pttl ms, field1, value1, ...} of meta.
INFO = LuaScript(
    "session info",
    """
local sid = redis.call('GET', KEYS[1])
if not sid then return {} end
local out = {sid, redis.call('PTTL', KEYS[1])}
for _, v in ipairs(redis.call('HGETALL', KEYS[2])) do table.insert(out, v) end
return out
""",
)

# Dedup. KEYS[1]: seen key. ARGV[1]: TTL s. Returns 1 the first time, 0 for a duplicate.
SEEN = LuaScript(
    "dedup",
    """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 1 end
return 0
""",
)

# A turn arrives: dedup, session get-or-create, arrival number, queue join, lock try.
# KEYS: 1 seen, 2 session, 3 meta, 4 lock, 5 stop, 6 queue, 7 alive, 8 order,
#       9 the token's left marker (see LEAVE).
# ARGV: 1 token, 2 candidate session id, 3 session TTL ms, 4 lock TTL ms, 5 waiter TTL ms,
#       6 dedup TTL s, 7 policy ('queue' | 'interrupt').
# Returns {0} duplicate; {1, arrival, session id, turn number} lock taken;
#         {2, arrival, interrupted holder token or ''} queued;
#         {-1} the token already left (a late try: it changes nothing).
# Idempotent for one token: the seen key keeps "token arrival", so the same call repeated
# (its reply was lost to a timeout, but it ran) reports where that turn stands — holding
# the lock (its TTL restarted, so the lock lives a full TTL from the try that answered), or
# queued at its arrival (a wait's poll rejoins there) — instead of a duplicate.
ENTER = LuaScript(
    "turn enter",
    _TURN_HELPERS
    + """
if redis.call('EXISTS', KEYS[9]) == 1 then return {-1} end
local now = now_ms()
local seen = redis.call('GET', KEYS[1])
if seen then
  local token, first = string.match(seen, '^(%S+) (%d+)$')
  if token ~= ARGV[1] then return {0} end
  if redis.call('GET', KEYS[4]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[4], ARGV[4])  -- a full TTL from this try (core.sessions.lock)
    local sid = touch_session(KEYS[2], KEYS[3], ARGV[2], ARGV[3], now)
    return {1, tonumber(first), sid, tonumber(redis.call('HGET', KEYS[3], 'turns') or '1')}
  end
  return {2, tonumber(first), ''}
end
local arrival = redis.call('HINCRBY', KEYS[8], 'seq', 1)
redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. arrival, 'EX', ARGV[6])
redis.call('PEXPIRE', KEYS[8], ARGV[3])
local sid = touch_session(KEYS[2], KEYS[3], ARGV[2], ARGV[3], now)
purge_dead(KEYS[6], KEYS[7], now)
local interrupted = ''
if ARGV[7] == 'interrupt' then
  -- only the newest message is answered: older waiters are superseded, the holder is stopped
  redis.call('HSET', KEYS[8], 'floor', arrival)
  redis.call('DEL', KEYS[6], KEYS[7])
  local holder = redis.call('GET', KEYS[4])
  if holder then
    redis.call('SET', KEYS[5], holder, 'PX', ARGV[4])
    interrupted = holder
  end
end
if redis.call('EXISTS', KEYS[4]) == 0 and redis.call('ZCARD', KEYS[6]) == 0 then
  redis.call('SET', KEYS[4], ARGV[1], 'PX', ARGV[4])
  return {1, arrival, sid, start_turn(KEYS[3], now)}
end
redis.call('ZADD', KEYS[6], arrival, ARGV[1])
redis.call('ZADD', KEYS[7], now + tonumber(ARGV[5]), ARGV[1])
redis.call('PEXPIRE', KEYS[6], ARGV[5])
redis.call('PEXPIRE', KEYS[7], ARGV[5])
return {2, arrival, interrupted}
""",
)

# A waiting turn checks in: refresh its expiry, take the lock if it is first in line and free.
# KEYS: 1 session, 2 meta, 3 lock, 4 queue, 5 alive, 6 order, 7 the token's left marker.
# ARGV: 1 token, 2 arrival, 3 candidate session id, 4 session TTL ms, 5 lock TTL ms,
#       6 waiter TTL ms.
# Returns {0} still waiting; {1, session id, turn number} lock taken; {-1} superseded, or
# the token already left (a late poll: it changes nothing, see LEAVE).
# Idempotent: a repeated poll (the reply of one that took the lock was lost to a timeout)
# finds the lock already ours and reports it (its TTL restarted), without counting the
# turn again.
POLL = LuaScript(
    "turn wait",
    _TURN_HELPERS
    + """
if redis.call('EXISTS', KEYS[7]) == 1 then return {-1} end
local now = now_ms()
if redis.call('GET', KEYS[3]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[3], ARGV[5])  -- a full TTL from this try (core.sessions.lock)
  local sid = touch_session(KEYS[1], KEYS[2], ARGV[3], ARGV[4], now)
  return {1, sid, tonumber(redis.call('HGET', KEYS[2], 'turns') or '1')}
end
if tonumber(ARGV[2]) < tonumber(redis.call('HGET', KEYS[6], 'floor') or '0') then
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[5], ARGV[1])
  return {-1}
end
purge_dead(KEYS[4], KEYS[5], now)
-- (re)join at our own arrival number: a waiter wrongly presumed dead keeps its place
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[5], now + tonumber(ARGV[6]), ARGV[1])
redis.call('PEXPIRE', KEYS[4], ARGV[6])
redis.call('PEXPIRE', KEYS[5], ARGV[6])
if redis.call('EXISTS', KEYS[3]) == 1 then return {0} end
if redis.call('ZRANGE', KEYS[4], 0, 0)[1] ~= ARGV[1] then return {0} end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[5])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
local sid = touch_session(KEYS[1], KEYS[2], ARGV[3], ARGV[4], now)
return {1, sid, start_turn(KEYS[2], now)}
""",
)

# A turn that lost its lock before calling its agent takes it again, if that keeps the
# conversation's order: the lock is still its own (it never expired: only this turn ever
# sets its token), or it is free and no later turn has started (the session's turn count
# is still this turn's number, in the same session). KEYS: 1 lock, 2 meta, 3 session.
# ARGV: 1 token, 2 lock TTL ms, 3 the turn's number, 4 its session id.
# Returns 1 when the turn holds the lock (for a full TTL from now), 0 when it may not.
RETAKE = LuaScript(
    "turn retake",
    """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then return 0 end
if redis.call('GET', KEYS[3]) ~= ARGV[4] then return 0 end
if tonumber(redis.call('HGET', KEYS[2], 'turns') or '0') ~= tonumber(ARGV[3]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
""",
)

# A waiting turn gives up (cancelled, timed out): leave the queue, and drop the lock in case
# a poll took it just before the give-up. A try of its ENTER or POLL may still reach Redis
# after this (sent before the give-up on another connection, or a cancel the client
# swallowed): the marker left here makes those change nothing, else one would put the gone
# turn back in the queue, blocking the conversation for a waiter TTL, or take the lock.
# The marker expires (ARGV[2]), so markers never pile up.
# KEYS: 1 lock, 2 queue, 3 alive, 4 the token's left marker.
# ARGV: 1 token, 2 the marker's life ms. Returns 1.
LEAVE = LuaScript(
    "turn leave",
    """
redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
""",
)

# Ask the running turn to stop (Stop button). KEYS[1]: lock; KEYS[2]: stop.
# ARGV[1]: stop TTL ms (the lock TTL: the request means nothing once that lock is gone).
# Returns the holder's token, or nil when no turn is running.
CANCEL = LuaScript(
    "turn cancel",
    """
local holder = redis.call('GET', KEYS[1])
if not holder then return false end
redis.call('SET', KEYS[2], holder, 'PX', ARGV[1])
return holder
""",
)
