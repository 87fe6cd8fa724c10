"""Shared by the surfaces' retried-upload tests: two small files served over loopback, a
retry policy without the production backoff, and a pydantic model for structured data;
and files of given sizes (:func:`served_sizes`) for the upload-limit tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping

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


@contextlib.asynccontextmanager
async def served_sizes(sizes: Mapping[str, int]) -> AsyncIterator[str]:
    """The base URL under which each file of ``sizes`` is served, that many bytes long."""

    async def serve(request: web.Request) -> web.StreamResponse:
        return web.Response(body=b"x" * sizes[request.match_info["name"]])

    app = web.Application()
    app.router.add_get("/files/{name}", serve)
    async with serving(app) as url:
        yield f"{url}/files"
