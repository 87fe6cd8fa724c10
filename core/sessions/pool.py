"""The Redis connection pool: redis-py's blocking pool, with a direct path when a
connection is free.

Every Redis call checks a connection out of the pool and back in. redis-py's
``BlockingConnectionPool`` does both under its ``asyncio.Condition`` and the checkout
under an ``asyncio.timeout`` as well, behind a decorator that inspects the arguments, and
records metrics for OpenTelemetry (off unless configured; threadcast configures none, and
the direct path records none): a third of a call's CPU (``bench_redis_call.py``, a bare
call: 118–130 µs with redis-py's pool, 75–91 µs with this one; tests/bench/README.md, "CPU per
streamed reply", seventh pass), at ~19 calls per reply.

In the usual case — an idle connection in the pool, nobody waiting for one, no
maintenance under way — none of that can change the outcome: the checkout is a pop and
the check-in a push, both with no await between the test and the change, so no other
task can interleave. Every other case (no idle connection: a new one is made, or the
caller queues, bounded by the pool's timeout; a task already queued or holding the
condition; a connection to reconnect; a maintenance notification rewriting the pool)
goes through redis-py's own methods unchanged, so waiting callers keep their order and
their timeout.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.connection import AbstractConnection
from redis.event import AsyncAfterConnectionReleasedEvent

__all__ = ["CheckoutPool"]


class CheckoutPool(aioredis.BlockingConnectionPool):
    """A ``BlockingConnectionPool`` that hands out and takes back an idle connection
    directly when no other task is waiting for one."""

    def _quiet(self) -> bool:
        """Nobody queued or inside the pool's critical sections: a direct change is what
        redis-py's locked path would do."""
        condition = self._condition
        return not (
            self._in_maintenance
            or condition.locked()
            or self._lock.locked()
            # asyncio.Condition keeps its waiters in ``_waiters`` (CPython 3.11–3.13).
            or getattr(condition, "_waiters", None)
        )

    async def get_connection(
        self, command_name: Any = None, *keys: Any, **options: Any
    ) -> AbstractConnection:
        if command_name is not None or keys or options:  # redis-py's deprecated form
            called: AbstractConnection = await super().get_connection(  # type: ignore[no-untyped-call]
                command_name, *keys, **options
            )
            return called
        if not self._available_connections or not self._quiet():
            waited: AbstractConnection = await super().get_connection()  # type: ignore[no-untyped-call]
            return waited
        connection: AbstractConnection = self._available_connections.pop()
        self._in_use_connections.add(connection)
        try:
            # As redis-py's path: connected, and nothing unread left on the socket.
            await self.ensure_connection(connection)
        except BaseException:
            await self.release(connection)
            raise
        return connection

    async def release(self, connection: AbstractConnection) -> None:
        if not self._quiet() or connection.should_reconnect():  # type: ignore[no-untyped-call]
            await super().release(connection)  # a reconnect awaits: under the condition
            return
        self._in_use_connections.remove(connection)
        self._available_connections.append(connection)
        # As redis-py's release: listeners (re-authentication) see the connection back.
        released = AsyncAfterConnectionReleasedEvent(connection)  # type: ignore[no-untyped-call]
        assert self._event_dispatcher is not None  # set in ConnectionPool.__init__
        await self._event_dispatcher.dispatch_async(released)
