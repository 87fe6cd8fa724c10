"""The feedback webhook: in the background, retried on 429/5xx/network errors, never on
another 4xx, bounded on close; every vote counted once, delivered or dropped with its
reason, on the webhook and in Prometheus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator
from typing import get_args

import httpx
import pytest
from aiohttp import web

from core.feedback.webhook import FeedbackWebhook
from core.ops.metrics import REGISTRY, WebhookDrop
from tests.waiting import eventually
from tests.web import serving


def outcomes() -> dict[str, float]:
    """The webhook's Prometheus counters now: ``delivered`` and each drop reason."""
    now = {"delivered": REGISTRY.get_sample_value("threadcast_feedback_webhook_delivered_total")}
    for reason in get_args(WebhookDrop):
        labels = {"reason": reason}
        now[reason] = REGISTRY.get_sample_value("threadcast_feedback_webhook_dropped_total", labels)
    return {name: value or 0.0 for name, value in now.items()}


def counted_since(before: dict[str, float]) -> dict[str, float]:
    """What the counters gained since ``before``, the ones that did not left out (the
    registry is the process's: earlier tests counted too)."""
    return {
        name: value - before[name] for name, value in outcomes().items() if value != before[name]
    }


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
    """A 400 is the receiver refusing that vote for good: dropped as ``refused``, once (it
    used to be logged "vote dropped" and counted nowhere), and the next vote goes."""
    receiver = Receiver([400])
    before = outcomes()
    async with serving(served(receiver)) as base:
        url = base + "/hook"
        hook = FeedbackWebhook(url, client, backoff=0.01)
        hook.send({"n": 1})
        hook.send({"n": 2})
        await asyncio.wait_for(receiver.done.wait(), 5)
        await hook.aclose()
    assert receiver.bodies == [{"n": 1}, {"n": 2}] and hook.delivered == 1
    assert hook.dropped_by == {"refused": 1}
    assert counted_since(before) == {"delivered": 1, "refused": 1}


@pytest.mark.looptime  # the default back-off, 1 + 2 + 4 + 8 s, in fake time
async def test_a_receiver_failing_every_try_is_given_up_once(client: httpx.AsyncClient) -> None:
    """500s until the tries run out: dropped as ``gave_up``, once (it used to be logged
    "vote dropped" and counted nowhere); the next vote goes."""
    receiver = Receiver([500] * 5)
    before = outcomes()
    async with serving(served(receiver)) as base:
        hook = FeedbackWebhook(base + "/hook", client, drain=60)
        loop = asyncio.get_running_loop()
        started = loop.time()
        hook.send({"n": 1})
        await eventually(lambda: hook.dropped == 1, what="the vote given up")
        assert loop.time() - started == pytest.approx(15, abs=0.5)
        hook.send({"n": 2})
        await hook.aclose()  # waits for the second vote (within the drain)
    assert receiver.bodies == [{"n": 1}] * 5 + [{"n": 2}]
    assert hook.dropped_by == {"gave_up": 1} and hook.delivered == 1
    assert counted_since(before) == {"gave_up": 1, "delivered": 1}


class HeldReceiver:
    """A webhook receiver at ``/hook`` that keeps each vote (``bodies``, ``arrived`` set)
    and answers 204 only once ``release`` is set."""

    def __init__(self) -> None:
        self.arrived, self.release = asyncio.Event(), asyncio.Event()
        self.bodies: list[object] = []

    def app(self) -> web.Application:
        async def holding(request: web.Request) -> web.Response:
            self.bodies.append(await request.json())
            self.arrived.set()
            await self.release.wait()
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook", holding)
        return app


async def test_a_full_backlog_drops_the_oldest_waiting_vote_once(
    client: httpx.AsyncClient,
) -> None:
    """The backlog full while a vote is being posted: the oldest vote *waiting* is dropped as
    ``overflow``. It used to be the one being posted, counted dropped, then delivered (or
    given up) as well."""
    receiver = HeldReceiver()  # the first vote held until the backlog has overflowed
    arrived, release, bodies = receiver.arrived, receiver.release, receiver.bodies
    app = receiver.app()
    before = outcomes()
    async with serving(app) as base:
        hook = FeedbackWebhook(base + "/hook", client, backlog=2, drain=30)
        hook.send({"n": 1})
        await asyncio.wait_for(arrived.wait(), 5)  # being posted
        for n in (2, 3, 4):  # 2 and 3 fill the backlog; 4 pushes 2 out
            hook.send({"n": n})
        release.set()
        await hook.aclose()
    assert bodies == [{"n": 1}, {"n": 3}, {"n": 4}]
    assert hook.delivered == 3 and hook.dropped_by == {"overflow": 1}
    assert counted_since(before) == {"delivered": 3, "overflow": 1}


async def test_an_unreachable_receiver_gives_up(client: httpx.AsyncClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens there once closed
    hook = FeedbackWebhook(f"http://127.0.0.1:{port}/hook", client, attempts=3, backoff=0.01,
                           drain=5)  # fmt: skip
    hook.send({"vote": "down"})
    await hook.aclose()  # waits for the tries (bounded by drain), then stops
    assert hook.delivered == 0 and hook.dropped_by == {"gave_up": 1}


async def test_votes_left_undelivered_on_close_are_counted_and_logged(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The receiver failing when the bot stops: the vote waiting for its next try and the one
    behind it are dropped as ``shutdown``, once each (they used to vanish without a word),
    and the one being retried is not also given up."""
    receiver = Receiver([503] * 5)
    before = outcomes()
    async with serving(served(receiver)) as base:
        hook = FeedbackWebhook(base + "/hook", client, backoff=60, drain=0)
        hook.send({"vote": "down"})
        hook.send({"vote": "up"})
        # Answered, and the answer back at the webhook (not only the request at the
        # receiver: a POST still on the wire at the close is ``unconfirmed``).
        await eventually(
            lambda: bool(receiver.bodies) and not hook._posting, what="the first try answered"
        )
        with caplog.at_level(logging.WARNING, logger="core.feedback.webhook"):
            await hook.aclose()
    assert receiver.bodies == [{"vote": "down"}]
    assert hook.delivered == 0 and hook.dropped_by == {"shutdown": 2}
    assert counted_since(before) == {"shutdown": 2}
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
    assert hook.delivered == 1 and hook.dropped_by == {"error": 1}
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
    assert hook.dropped_by == {"error": 2} and len(caplog.records) == 2
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


async def test_a_vote_sent_after_close_is_dropped_not_left_to_a_new_worker(
    client: httpx.AsyncClient,
) -> None:
    """A vote clicked while the bot shuts down, after the webhook closed: it started a new
    worker that nothing would close (a task still pending at the loop's end), and its vote
    counted nowhere."""
    before = outcomes()
    hook = FeedbackWebhook("http://127.0.0.1:9/hook", client)
    await hook.aclose()
    hook.send({"vote": "up"})
    assert hook._worker is None  # no task was started
    assert hook.dropped_by == {"shutdown": 1}
    assert counted_since(before) == {"shutdown": 1}


async def test_a_vote_cut_off_mid_post_on_close_is_counted_unconfirmed(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The bot stops while a vote's POST is on the wire: the receiver may have it (it holds
    the request here), so it is counted ``unconfirmed``, with one line saying so; it used to
    be dropped as ``shutdown`` with the vote waiting behind it, which never left."""
    receiver = HeldReceiver()  # it has the vote and answers only after the close
    arrived, release, bodies = receiver.arrived, receiver.release, receiver.bodies
    app = receiver.app()
    before = outcomes()
    async with serving(app) as base:
        hook = FeedbackWebhook(base + "/hook", client, timeout=60, drain=0)
        hook.send({"n": 1})
        await asyncio.wait_for(arrived.wait(), 5)  # on the wire
        hook.send({"n": 2})
        with caplog.at_level(logging.WARNING, logger="core.feedback.webhook"):
            await hook.aclose()
        release.set()
    assert bodies == [{"n": 1}]
    assert hook.delivered == 0 and hook.dropped_by == {"unconfirmed": 1, "shutdown": 1}
    assert counted_since(before) == {"unconfirmed": 1, "shutdown": 1}
    assert [r.getMessage() for r in caplog.records] == [
        "feedback webhook closed while posting a vote: the receiver may have it (unconfirmed)",
        "feedback webhook closed with 1 vote(s) not delivered: dropped",
    ]
