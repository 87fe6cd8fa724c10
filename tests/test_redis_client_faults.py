"""``core.redis.guarded`` turns the Redis client's own faults into a store error, and only
those.

redis-py leaks the internals of a connection that was closed under a command it had begun:
in a full run of the suite, a Redis cluster's failover (``tests/redis/test_cluster_failover.py``)
disconnected a node's connection between the client's check that it was open and its write,
and the lock's heartbeat died of ``AttributeError: 'NoneType' object has no attribute
'writelines'`` raised in ``redis/asyncio/connection.py``, failing a turn whose reply had been
delivered (redis/redis-py#4287 reports the same class of leak, a ``TypeError``). On uvloop,
the bots' event loop, a pooled connection whose transport a peer reset had closed raised
``RuntimeError: unable to perform operation on <TCPTransport closed=True …>`` from
uvloop's own code on the next command. Not being ``RedisError``, such errors passed every
caller's recovery. A fault of threadcast's own code must still surface as itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import redis.asyncio as aioredis
import uvloop

from core.errors import SessionStoreError
from core.redis import guarded
from tests.redis_server import RedisProcess

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


def test_on_uvloop_a_command_on_a_connection_a_peer_reset_is_a_store_error(tmp_path: Path) -> None:
    async def scenario(url: str) -> SessionStoreError:
        pool = aioredis.ConnectionPool.from_url(url)
        client = aioredis.Redis(connection_pool=pool)
        try:
            await client.ping()  # the pool's one connection, open and idle
            connection = await pool.get_connection()  # type: ignore[no-untyped-call]
            await pool.release(connection)
            # What uvloop does to a transport when the peer resets its connection; then the
            # stream is told (connection_lost), as it would be before the next command.
            stream = connection._writer
            stream.transport.abort()
            await stream.wait_closed()
            with pytest.raises(
                SessionStoreError, match=r"connection broke \(RuntimeError"
            ) as caught:
                await guarded("ping", client.ping())
            return caught.value
        finally:
            await pool.aclose()

    # Over TCP, as a deployment's REDIS_URL: over the embedded server's unix socket the same
    # steps end with the ping answered (redis-py reconnects).
    with RedisProcess(tmp_path / "redis") as server:
        failure = uvloop.run(scenario(f"redis://{server.address}"))
    assert "handler is closed" in str(failure.__cause__)  # uvloop's own words


async def test_a_fault_of_threadcasts_own_code_is_not_hidden_as_a_store_error() -> None:
    async def a_bug() -> None:
        raise AttributeError("'Settings' object has no attribute 'redis_ulr'")

    with pytest.raises(AttributeError, match="redis_ulr"):
        await guarded("session read", a_bug())
