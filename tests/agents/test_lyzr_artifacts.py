"""The session's artifacts after a run (issue 10, item 5): every page, every shape, files
without a link named, and each file delivered once per session across replicas and restarts
(the record of what was delivered lives in Redis)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
import redis.asyncio as aioredis

from core.agents.lyzr import LyzrAgent
from core.models import Artifact
from tests.agents.conftest import lyzr_agent
from tests.agents.test_lyzr import collect
from tests.servers.lyzr_server import LyzrScript, LyzrServer


def listing(server: LyzrServer, count: int, prefix: str = "f") -> list[dict[str, Any]]:
    return [
        {"file_url": server.add_file(f"{prefix}{n}.txt", b"x"), "name": f"{prefix}{n}.txt"}
        for n in range(count)
    ]


async def files_of(agent: LyzrAgent, session: str = "s1") -> list[Artifact]:
    return (await collect(agent, session_id=session))[-1].files


@pytest.mark.parametrize("shape", ["list", "data", "page"])
async def test_every_page_is_read_in_every_shape(
    lyzr_server: LyzrServer, shape: Literal["list", "data", "page"]
) -> None:
    listed = listing(lyzr_server, 123)  # three pages of 50
    lyzr_server.default = LyzrScript(tokens=["ok"], artifacts=listed, artifacts_shape=shape)
    agent = lyzr_agent(lyzr_server)
    files = await files_of(agent)
    await agent.aclose()
    assert [f.name for f in files] == [f"f{n}.txt" for n in range(123)]
    pages = [r.query for r in lyzr_server.requests if r.path == "/v3/artifacts/"]
    assert all(q["session_id"] == "s1" and q["user_id"] == "u1" for q in pages)
    assert [q["page"] for q in pages] == ["1", "2", "3"] and "limit" in pages[0]


async def test_url_under_url_and_a_file_without_one_is_kept_to_be_named(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    url = lyzr_server.add_file("a.csv", b"1")
    lyzr_server.default = LyzrScript(
        tokens=["ok"],
        artifacts={"data": {"artifacts": [{"url": url, "name": "a.csv"}, {"name": "lost.pdf"}]}},
    )
    files = await files_of(lyzr)
    assert [(f.name, f.url) for f in files] == [("a.csv", url), ("lost.pdf", "")]


async def test_a_second_replica_does_not_deliver_a_file_again(
    lyzr_server: LyzrServer, redis_client: aioredis.Redis, namespace: str
) -> None:
    first = listing(lyzr_server, 2, "old")
    lyzr_server.default = LyzrScript(tokens=["ok"], artifacts=first)
    replica_a = lyzr_agent(lyzr_server, redis=redis_client, namespace=namespace)
    replica_b = lyzr_agent(lyzr_server, redis=redis_client, namespace=namespace)
    assert [f.name for f in await files_of(replica_a)] == ["old0.txt", "old1.txt"]
    # The next turn of the same session lands on the other replica (or after a restart).
    lyzr_server.default = LyzrScript(tokens=["ok"], artifacts=[*first, *listing(lyzr_server, 1)])
    assert [f.name for f in await files_of(replica_b)] == ["f0.txt"]
    assert await files_of(replica_a) == []
    # Another session's files are its own.
    assert len(await files_of(replica_b, session="s2")) == 3
    keys = [k async for k in redis_client.scan_iter(f"{namespace}:*")]
    ttls = [await redis_client.ttl(k) for k in keys]
    assert len(keys) == 2 and all(ttl > 0 for ttl in ttls)
    for agent in (replica_a, replica_b):
        await agent.aclose()
