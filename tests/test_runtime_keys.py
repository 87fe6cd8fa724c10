"""Several bots on one Redis: every key a deployment writes is under its
``THREADCAST_REDIS_NAMESPACE``, and ``threadcast usage`` reads that namespace."""

from __future__ import annotations

import io
import json

import pytest
import redis.asyncio as aioredis

from bots.usage import run_usage
from core.config import Settings, load_settings
from core.errors import ConfigError
from core.runtime import Runtime
from core.turn import Turn
from core.usage.book import TurnUsage, UsageBook
from tests.surfaces import THREAD, RecordingSurface


async def _keys(redis: aioredis.Redis) -> set[str]:
    return {str(k) for k in await redis.keys("*")}


@pytest.mark.parametrize("given", ["setting", "runtime"])
async def test_every_key_of_a_turn_is_under_the_deployment_namespace(
    redis_url: str, redis_client: aioredis.Redis, namespace: str, given: str
) -> None:
    """A whole turn through the Runtime's own wiring (the demo agent keeps its history in
    Redis through the agent factory; recovery registers the turn): nothing lands outside
    the namespace (sessions, locks and recovery used to be under ``threadcast:`` always),
    whether it is set in the settings or given to the Runtime (tests: one per test)."""
    if given == "setting":
        settings = Settings(redis_url=redis_url, agent="demo", redis_namespace=namespace)
        opened = Runtime(settings)
    else:
        opened = Runtime(Settings(redis_url=redis_url, agent="demo"), namespace=namespace)
    before = await _keys(redis_client)
    async with opened as runtime:
        surface = RecordingSurface()
        runtime.recover(THREAD.platform, "B1", surface)
        responder = runtime.responder(surface)
        result = await responder.handle(
            Turn(where=THREAD, user="U1", message_id="m1", text="hello")
        )
        assert result.status == "answered"
        again = await responder.handle(
            Turn(where=THREAD, user="U1", message_id="m2", text="and again")
        )
        assert again.status == "answered"
    written = await _keys(redis_client) - before
    assert written  # sessions, history, usage...
    outside = sorted(k for k in written if not k.startswith(f"{namespace}:"))
    assert not outside, outside
    assert any(":history:" in k or ":agent:" in k for k in written), written


def test_a_namespace_must_be_plain() -> None:
    with pytest.raises(ConfigError, match="THREADCAST_REDIS_NAMESPACE"):
        load_settings(redis_namespace="a{b}", agent="demo")
    assert Settings(agent="demo").redis_namespace == "threadcast"


async def test_usage_reads_the_deployment_namespace(
    redis_url: str, redis_client: aioredis.Redis, namespace: str
) -> None:
    usage = TurnUsage(
        agent="helper", route="default", channel="test/W1/C1", user="test/U1", chars_in=5,
        chars_out=7, agent_seconds=0.1, time_to_first_token=0.05, error=False,
    )  # fmt: skip
    await UsageBook(redis_client, namespace=namespace).record(usage, retention_days=2)
    out = io.StringIO()
    settings = Settings(redis_url=redis_url, agent="demo", redis_namespace=namespace)
    assert await run_usage(settings, days=1, by="agent", as_json=True, out=out) == 0
    rows = json.loads(out.getvalue())
    assert "helper" in json.dumps(rows)
