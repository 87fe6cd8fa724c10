"""How threadcast talks to Redis: bounded calls, Lua scripts, one error type.

Sessions, the turn gate, crash recovery, the shared edit budgets, quotas and usage all use
it; it lives here, in neither of them, so that none imports another for its Redis plumbing.
Every call goes through :func:`guarded`, which bounds it with a deadline (on top of the
client's socket timeouts, because redis-py retries a failed connection several times) and
translates whatever the Redis client raises into :class:`SessionStoreError`, so the rest of
threadcast never sees a redis-py exception.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import redis
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from core.errors import SessionStoreError
from core.ops import metrics

__all__ = [
    "DEFAULT_OP_TIMEOUT",
    "NOW_MS",
    "NOW_US",
    "REDIS_PATIENCE",
    "LuaScript",
    "StoreTimeout",
    "guarded",
    "ms",
    "patiently",
    "text",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_OP_TIMEOUT = 5.0
"""Seconds one session operation may take, retries included, before it counts as failed."""

REDIS_PATIENCE = 60.0
"""Seconds a call that is safe to repeat keeps asking a Redis that does not answer (each try
bounded by the op timeout) before it counts as down. A slow answer is what a burst looks
like — a busy event loop or connection pool, not a dead server; a refused or reset
connection counts as down at once."""

Arg = str | int | float


class StoreTimeout(SessionStoreError):
    """Redis did not answer in time: it may well be up, only busy (or this process's event
    loop and connection pool are), and the call may have run there all the same.

    Unlike a refused or reset connection, this is not proof of an outage: a caller whose
    call is safe to repeat (see the turn gate) may try again before telling the user the
    store is unavailable."""


NOW_MS = """
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
"""
"""Lua helper prepended to scripts that need the time: Redis's clock in whole milliseconds
(replicas' own clocks are not comparable; Redis >= 5 replicates scripts by effects, so
calling ``TIME`` before writing is allowed)."""

NOW_US = """
local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
"""
"""As :data:`NOW_MS`, in microseconds, for the shared edit budgets' GCRA (a Lua double is
exact to 2^53 µs, some 285 years)."""


async def guarded(what: str, call: Awaitable[T], *, within: float = DEFAULT_OP_TIMEOUT) -> T:
    """Await one Redis call; a failure or a timeout becomes a SessionStoreError.

    The call runs as its own task, awaited for at most ``within``: redis-py sends through
    ``asyncio.wait_for``, which on Python 3.11 swallows a cancel that lands just as the send
    completes (cpython gh-86296), so a deadline enforced by cancelling the caller was lost
    now and then (the call then waited out the client's socket timeouts and retries, 15 s
    for 0.05 s asked). Past the deadline the call is cancelled and not waited for.

    The caller waits on a future of its own that the call's end or a timer resolves, not on
    the task (cancelling a task's waiter cancels the task it awaits) nor ``asyncio.wait``,
    whose sets, closures and bookkeeping per call cost more than the rest of this wrapper
    (tests/bench/README.md, "CPU per streamed reply").
    """
    loop = asyncio.get_running_loop()
    running = loop.create_task(call) if asyncio.iscoroutine(call) else asyncio.ensure_future(call)
    woken: asyncio.Future[None] = loop.create_future()
    wake = functools.partial(_wake, woken)
    timer = loop.call_later(within, wake, None)
    running.add_done_callback(wake)
    try:
        await woken
    except asyncio.CancelledError:  # the caller was cancelled: so is its call
        timer.cancel()
        running.remove_done_callback(wake)
        running.cancel()
        running.add_done_callback(_forget)
        raise
    if not running.done():
        running.remove_done_callback(wake)
        running.cancel()
        running.add_done_callback(_forget)
        metrics.redis_error()
        raise StoreTimeout(f"redis did not answer {what} within {within:g}s")
    timer.cancel()
    try:
        return running.result()
    except (TimeoutError, RedisTimeoutError) as exc:  # the socket's deadline
        metrics.redis_error()
        raise StoreTimeout(f"redis did not answer {what} within {within:g}s") from exc
    except (RedisError, OSError) as exc:
        metrics.redis_error()
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, RedisConnectionError) and isinstance(exc.__cause__, TimeoutError):
            # The blocking pool's wait ran out: every connection busy, not Redis down.
            raise StoreTimeout(f"no redis connection was free for {what}: {reason}") from exc
        raise SessionStoreError(f"redis failed during {what}: {reason}") from exc
    except Exception as exc:
        if not _raised_inside_the_client(exc):
            raise  # a bug of ours, not a store failure: never hidden as one
        # redis-py leaks the internals of a connection closed under it (a peer reset, a
        # cluster failover disconnecting a node's connections): AttributeError "'NoneType'
        # object has no attribute 'writelines'" in a failover test here, uvloop's
        # RuntimeError "the handler is closed" for a pooled TCP connection reset by its
        # peer, redis/redis-py#4287's TypeError. None is a RedisError: without this they
        # bypassed every caller's recovery (a lock's heartbeat died of one, and with it a
        # turn whose reply had been delivered).
        metrics.redis_error()
        log.warning("the redis client failed during %s", what, exc_info=exc)
        raise SessionStoreError(
            f"redis failed during {what}: the connection broke ({type(exc).__name__}: {exc})"
        ) from exc


# Where the client's code lives: redis-py's and asyncio's packages, and uvloop's Cython
# sources (the bots' event loop, bots/event_loop.py), whose frames are named "uvloop/….pyx".
_CLIENT_CODE = (
    *(
        os.path.dirname(package.__file__) + os.sep
        for package in (redis, asyncio)
        if package.__file__
    ),
    "uvloop/",
)


def _raised_inside_the_client(exc: BaseException) -> bool:
    """Whether ``exc`` was raised in the Redis client's or the event loop's own code (its
    innermost frame), not in threadcast's."""
    innermost = exc.__traceback__
    if innermost is None:
        return False
    while innermost.tb_next is not None:
        innermost = innermost.tb_next
    return innermost.tb_frame.f_code.co_filename.startswith(_CLIENT_CODE)


def _wake(woken: asyncio.Future[None], _: object) -> None:
    """The call ended or its deadline came, whichever is first: its caller goes on."""
    if not woken.done():
        woken.set_result(None)


async def patiently(
    call: Callable[[], Awaitable[T]], *, patience: float, deadline: float | None = None
) -> T:
    """Await ``call()``, asked again while Redis only answers late (:class:`StoreTimeout`:
    no pooled connection free in time, or no reply within the op timeout) — queueing in a
    burst, not an outage. ``call`` must be safe to repeat (the late try may have run).

    A refused or reset connection raises at once; lateness raises once ``patience``
    seconds have passed, or at ``deadline`` (loop time) if that comes first."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + patience
    if deadline is not None:
        give_up = min(give_up, deadline)
    while True:
        try:
            return await call()
        except StoreTimeout as exc:
            if loop.time() >= give_up:
                raise
            log.info("redis answered late (%s); asking again", exc)


def _forget(task: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a call given up on, so asyncio does not log it as lost."""
    if not task.cancelled():
        task.exception()


class LuaScript:
    """A Lua script run by its SHA1, so the body crosses the network once per server.

    On ``NOSCRIPT`` (first use, server restart, ``SCRIPT FLUSH``) it falls back to ``EVAL``,
    which also caches the body: one extra round trip the first time only.
    """

    __slots__ = ("name", "sha", "source")

    def __init__(self, name: str, source: str) -> None:
        self.name = name
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(
        self,
        redis: aioredis.Redis,
        keys: Sequence[str],
        args: Sequence[Arg] = (),
        *,
        within: float = DEFAULT_OP_TIMEOUT,
    ) -> Any:
        return await guarded(self.name, self._run(redis, keys, args), within=within)

    async def _run(self, redis: aioredis.Redis, keys: Sequence[str], args: Sequence[Arg]) -> Any:
        try:
            return await redis.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.eval(self.source, len(keys), *keys, *args)

    def __repr__(self) -> str:
        return f"<LuaScript {self.name} {self.sha[:8]}>"


def ms(seconds: float) -> int:
    """Seconds as the whole milliseconds Redis PX/PEXPIRE take (at least 1)."""
    return max(1, round(seconds * 1000))


def text(value: object) -> str:
    """A script's string reply, whether or not the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)
