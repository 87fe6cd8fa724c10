from pathlib import Path

import redis.asyncio as aioredis

from core.sessions.embedded import EmbeddedRedis


async def test_embedded_redis_persists_across_restart(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path / "data")
    url = await server.start()
    client = aioredis.from_url(url, decode_responses=True)
    await client.set("greeting", "hello")
    await client.aclose()
    await server.stop()

    again = EmbeddedRedis(tmp_path / "data")
    url = await again.start()
    client = aioredis.from_url(url, decode_responses=True)
    try:
        assert await client.get("greeting") == "hello"
    finally:
        await client.aclose()
        await again.stop()


async def test_second_instance_reuses_running_server(tmp_path: Path) -> None:
    first = EmbeddedRedis(tmp_path)
    second = EmbeddedRedis(tmp_path)
    await first.start()
    try:
        assert await second.start() == first.url
        await second.stop()  # does not own it: the server must still answer
        client = aioredis.from_url(first.url)
        assert await client.ping()
        await client.aclose()
    finally:
        await first.stop()
