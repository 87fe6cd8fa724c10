"""``core.redis.guarded`` turns the Redis client's own faults into a store error, and only
those.

redis-py leaks the internals of a connection that was closed under a command it had begun:
in a full run of the suite, a Redis cluster's failover (``tests/redis/test_cluster_failover.py``)
disconnected a node's connection between the client's check that it was open and its write,
and the lock's heartbeat died of ``AttributeError: 'NoneType' object has no attribute
'writelines'`` raised in ``redis/asyncio/connection.py``, failing a turn whose reply had been
delivered (redis/redis-py#4287 reports the same class of leak, a ``TypeError``). Not being
``RedisError``, such an error passed every caller's recovery. A fault of threadcast's own
code must still surface as itself.
"""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from core.errors import SessionStoreError
from core.redis import guarded

PING = [b"*1\r\n$4\r\nPING\r\n"]


async def test_a_write_to_a_connection_closed_under_it_is_a_store_error(redis_url: str) -> None:
    pool = aioredis.ConnectionPool.from_url(redis_url)
    connection = await pool.get_connection()  # type: ignore[no-untyped-call]
    # The failover's sequence: the client saw the connection open and began its write (in
    # redis-py a task of its own, through ``asyncio.wait_for``); the connection was closed
    # before that write ran.
    write = connection._send_packed_command(PING)
    await connection.disconnect()
    try:
        with pytest.raises(SessionStoreError, match=r"connection broke \(AttributeError") as caught:
            await guarded("lock extend", write)
        assert isinstance(caught.value.__cause__, AttributeError)  # kept, for the logs
    finally:
        await pool.aclose()


async def test_a_fault_of_threadcasts_own_code_is_not_hidden_as_a_store_error() -> None:
    async def a_bug() -> None:
        raise AttributeError("'Settings' object has no attribute 'redis_ulr'")

    with pytest.raises(AttributeError, match="redis_ulr"):
        await guarded("session read", a_bug())
