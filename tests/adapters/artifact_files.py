"""Shared by the surfaces' retried-upload tests: two small files served over loopback, a
retry policy without the production backoff, and a pydantic model for structured data."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from pydantic import BaseModel

from core.relay import RetryPolicy
from tests.web import serving

FILES = {"report.csv": b"a,b\n1,2\n", "notes.txt": b"hello"}
QUICK = RetryPolicy(backoff=0.01)  # retries without the production backoff


class Report(BaseModel):
    title: str
    summary: str


@pytest.fixture
async def file_server() -> AsyncIterator[str]:
    """The base URL the FILES are served under."""

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=FILES[request.match_info["name"]])

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    async with serving(app) as url:
        yield f"{url}/files"
