"""The feedback webhook: in the background, retried on 429/5xx/network errors, never on
another 4xx, bounded on close."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from aiohttp import web

from core.feedback.webhook import FeedbackWebhook
from tests.web import serving


class Receiver:
    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses  # answered in order; 204 once they run out
        self.bodies: list[object] = []
        self.done = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        status = self.statuses.pop(0) if self.statuses else 204
        if status == 204:
            self.done.set()
        return web.Response(status=status, headers={"Retry-After": "0"})


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as opened:
        yield opened


def served(receiver: Receiver) -> web.Application:
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    return app


async def test_retries_until_delivered(client: httpx.AsyncClient) -> None:
    receiver = Receiver([429, 503])
    async with serving(served(receiver)) as base:
        url = base + "/hook"
        hook = FeedbackWebhook(url, client, backoff=0.01)
        hook.send({"vote": "up"})  # returns at once
        await asyncio.wait_for(receiver.done.wait(), 5)
        await hook.aclose()
    assert receiver.bodies == [{"vote": "up"}] * 3 and hook.delivered == 1


async def test_a_refusal_is_not_retried_and_order_is_kept(client: httpx.AsyncClient) -> None:
    receiver = Receiver([400])
    async with serving(served(receiver)) as base:
        url = base + "/hook"
        hook = FeedbackWebhook(url, client, backoff=0.01)
        hook.send({"n": 1})
        hook.send({"n": 2})
        await asyncio.wait_for(receiver.done.wait(), 5)
        await hook.aclose()
    assert receiver.bodies == [{"n": 1}, {"n": 2}] and hook.delivered == 1


async def test_an_unreachable_receiver_gives_up(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    hook = FeedbackWebhook(f"http://127.0.0.1:{port}/hook", client, attempts=3, backoff=0.01,
                           drain=5)  # fmt: skip
    hook.send({"vote": "down"})
    await hook.aclose()  # waits for the tries (bounded by drain), then stops
    assert hook.delivered == 0


async def test_votes_left_undelivered_on_close_are_counted_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The receiver down when the bot stops: what the drain could not deliver used to
    vanish without a word."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    hook = FeedbackWebhook(f"http://127.0.0.1:{port}/hook", client, backoff=60, drain=0)
    hook.send({"vote": "down"})
    hook.send({"vote": "up"})
    with caplog.at_level(logging.WARNING, logger="core.feedback.webhook"):
        await hook.aclose()
    assert hook.delivered == 0 and hook.dropped == 2
    assert "2 vote(s) not delivered" in caplog.text
