"""The feedback webhook: in the background, retried on 429/5xx/network errors, never on
another 4xx, bounded on close."""

from __future__ import annotations

import asyncio
import contextlib
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


async def test_a_vote_that_cannot_be_sent_is_dropped_and_the_next_one_goes(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A failure other than ``httpx.HTTPError`` (here a body JSON cannot encode) used to end
    the worker with the body still first in line: no later vote was ever sent."""
    receiver = Receiver([])
    async with serving(served(receiver)) as base:
        hook = FeedbackWebhook(base + "/hook", client, backoff=0.01)
        with caplog.at_level(logging.ERROR, logger="core.feedback.webhook"):
            hook.send({"at": object()})  # TypeError in json.dumps
            hook.send({"vote": "up"})
            await asyncio.wait_for(receiver.done.wait(), 5)
            await hook.aclose()
    assert receiver.bodies == [{"vote": "up"}]
    assert hook.delivered == 1 and hook.dropped == 1
    assert [r.getMessage() for r in caplog.records] == [
        "feedback webhook could not send a vote: vote dropped"
    ]


async def test_a_bad_url_drops_each_vote_once(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """``httpx.InvalidURL`` is not an ``httpx.HTTPError``: each vote is dropped with one line,
    not retried (it would fail the same way), and the worker is still there for the next."""
    hook = FeedbackWebhook("http://[::1/hook", client, backoff=60)
    with caplog.at_level(logging.WARNING, logger="core.feedback.webhook"):
        hook.send({"n": 1})
        hook.send({"n": 2})
        await hook.aclose()
    assert hook.dropped == 2 and len(caplog.records) == 2
    assert all("InvalidURL" in (r.exc_text or "") for r in caplog.records)


async def test_a_receiver_trickling_its_answer_is_cut_at_the_timeout(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """httpx's timeout bounds each read, not the exchange: a receiver sending a byte now and
    then used to hold the worker (and the drain on close) for as long as it went on."""

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        with contextlib.suppress(ConnectionResetError):  # the client gave up
            while True:  # the slow receiver itself, not a wait of the test
                await response.write(b" ")
                await asyncio.sleep(0.05)
        return response

    app = web.Application()
    app.router.add_post("/hook", trickle)
    async with serving(app, shutdown_timeout=0) as base:
        hook = FeedbackWebhook(base + "/hook", client, attempts=1, timeout=0.5, drain=30)
        with caplog.at_level(logging.WARNING, logger="core.feedback.webhook"):
            hook.send({"vote": "up"})
            await hook.aclose()
    assert "failed 1 times (no answer within 0.5s): vote dropped" in caplog.text
