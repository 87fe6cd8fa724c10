"""Every Redis operation threadcast makes, against a real three-master Redis Cluster, through
the client ``REDIS_CLUSTER=true`` gives (:func:`core.sessions.connect.open_redis`).

Sessions, dedup, the per-conversation lock and queue, the interrupt signal, chat history
(a MULTI/EXEC pipeline), shared edit budgets, crash recovery and whole turns each run here
with their real code (``operations.py``). The last test runs them all while recording
every script call the client sends, and proves that every Lua script in ``core`` ran and
that each call's keys share one slot (the cluster would refuse a call that spans slots).
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

import core
from core.config import load_settings
from core.errors import ConfigError
from core.redis import LuaScript
from core.sessions.connect import open_redis
from tests.redis.cluster import LocalCluster
from tests.redis.operations import FAMILIES


@pytest.fixture
async def client(cluster: LocalCluster) -> AsyncIterator[aioredis.Redis]:
    redis, embedded = await open_redis(load_settings(redis_url=cluster.url, redis_cluster=True))
    assert embedded is None and isinstance(redis, RedisCluster)
    try:
        yield redis
    finally:
        await redis.aclose()


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_operations_run_on_the_cluster(
    client: aioredis.Redis, namespace: str, family: str
) -> None:
    await FAMILIES[family](client, namespace)


# -- every script, one slot per call -------------------------------------------------------------


def _scripts_in_core() -> dict[str, str]:
    """SHA1 -> name of every Lua script in ``core``: the LuaScript constants, and the
    script texts (``*_SCRIPT``) given to ``register_script``."""
    found: dict[str, str] = {}
    for module_info in pkgutil.walk_packages(core.__path__, "core."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if isinstance(value, LuaScript):
                found[value.sha] = f"{module_info.name}.{name}"
            elif name.endswith("_SCRIPT") and isinstance(value, str):
                found[hashlib.sha1(value.encode()).hexdigest()] = f"{module_info.name}.{name}"
    return found


@pytest.fixture
def script_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, list[str]]]]:
    """(sha1, keys) of every EVAL/EVALSHA the cluster client sends."""
    calls: list[tuple[str, list[str]]] = []
    send: Callable[..., Any] = RedisCluster.execute_command

    async def recording(self: RedisCluster, *args: Any, **kwargs: Any) -> Any:
        command = str(args[0]).upper()
        if command in {"EVAL", "EVALSHA"}:
            body, count = str(args[1]), int(args[2])
            sha = body if command == "EVALSHA" else hashlib.sha1(body.encode()).hexdigest()
            calls.append((sha, [str(key) for key in args[3 : 3 + count]]))
        return await send(self, *args, **kwargs)

    monkeypatch.setattr(RedisCluster, "execute_command", recording)
    yield calls


async def test_every_script_runs_and_keeps_its_keys_in_one_slot(
    client: aioredis.Redis, namespace: str, script_calls: list[tuple[str, list[str]]]
) -> None:
    for family in FAMILIES.values():
        await family(client, namespace)
    scripts = _scripts_in_core()
    assert len(scripts) >= 10, scripts
    ran = {sha for sha, _ in script_calls}
    assert not set(scripts) - ran, (
        f"not exercised: {sorted(scripts[s] for s in set(scripts) - ran)}"
    )
    for sha, keys in script_calls:
        slots = {key_slot(key.encode()) for key in keys}
        assert len(slots) == 1, f"{scripts.get(sha, sha)} spans slots {slots}: {keys}"
    multi_key = {scripts[sha] for sha, keys in script_calls if len(keys) > 1 and sha in scripts}
    assert len(multi_key) >= 8, multi_key  # most scripts touch several keys


# -- configuration -------------------------------------------------------------------------------


async def test_cluster_without_redis_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        await open_redis(load_settings(redis_cluster=True))
    assert caught.value.variable == "REDIS_CLUSTER"


async def test_a_cluster_node_without_the_flag_is_a_config_error(cluster: LocalCluster) -> None:
    """Without REDIS_CLUSTER the keys of other nodes' slots would fail, one by one, with a
    bare MOVED: the start-up check says what to set instead."""
    with pytest.raises(ConfigError) as caught:
        await open_redis(load_settings(redis_url=cluster.url))
    assert caught.value.variable == "REDIS_CLUSTER"
    assert "REDIS_CLUSTER=true" in str(caught.value)
