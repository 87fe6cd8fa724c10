"""``POST /slack/events`` under hostile input: the signature is checked before anything is
parsed, nothing unsigned is logged, and events the bot has no use for are acknowledged."""

from __future__ import annotations

import json
import logging
import time

import aiohttp
import pytest

from bots.simulators.slack import HttpDelivery, SlackSimulator, sign
from tests.bots.slack.conftest import StartBot

SECRET_MARK = "unsigned-body-marker-7f3a"
FORM = "application/x-www-form-urlencoded"


def signed(body: bytes, secret: str, *, timestamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if timestamp is None else timestamp
    return {"Content-Type": "application/json", **sign(body, secret, stamp)}


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b'{"type": "event_callback", "oops', {}),  # bad JSON
        (b'[1, 2, "' + SECRET_MARK.encode() + b'"]', {}),  # an array
        (b"\xff\xfe\xfd" + SECRET_MARK.encode(), {}),  # not UTF-8
        (b"payload=%7B%22" + SECRET_MARK.encode(), {"Content-Type": FORM}),
        (b'{"mark": "' + SECRET_MARK.encode() + b'"}', {"X-Slack-Request-Timestamp": "soon"}),
        (
            b'{"mark": "' + SECRET_MARK.encode() + b'"}',
            {"X-Slack-Request-Timestamp": "12x", "X-Slack-Signature": "v0=abc"},
        ),
    ],
)  # fmt: skip
async def test_unsigned_garbage_gets_401_and_is_never_logged(
    sim: SlackSimulator,
    start_bot: StartBot,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    headers: dict[str, str],
) -> None:
    caplog.set_level(logging.DEBUG)  # before bolt copies the root level into its loggers
    bot = await start_bot()
    async with (
        aiohttp.ClientSession() as session,
        session.post(bot.events_url, data=body, headers=headers) as response,
    ):
        assert response.status == 401
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert SECRET_MARK not in logged
    assert "Traceback" not in caplog.text


async def test_a_forged_signature_on_a_big_body_is_refused_without_logging_it(
    sim: SlackSimulator, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # before bolt copies the root level into its loggers
    bot = await start_bot()
    event = {"type": "event_callback", "event": {"type": "app_mention", "text": SECRET_MARK}}
    body = json.dumps(event).encode() + b" " * 200_000
    headers = signed(body, "not-the-secret")
    async with (
        aiohttp.ClientSession() as session,
        session.post(bot.events_url, data=body, headers=headers) as response,
    ):
        assert response.status == 401
    assert SECRET_MARK not in "\n".join(r.getMessage() for r in caplog.records)


async def test_signed_but_unreadable_bodies_get_400_not_500(
    sim: SlackSimulator, start_bot: StartBot
) -> None:
    bot = await start_bot()
    async with aiohttp.ClientSession() as session:
        for body in (b'{"type": "event_callback", "oops', b"\xff\xfe", b"[1, 2]"):
            headers = signed(body, sim.app.signing_secret)
            async with session.post(bot.events_url, data=body, headers=headers) as response:
                assert response.status == 400, body


async def test_events_the_bot_does_not_use_are_acknowledged(
    sim: SlackSimulator, start_bot: StartBot
) -> None:
    await start_bot()
    ws = sim.workspace
    for event in (
        {"type": "reaction_added", "user": ws.alice, "reaction": "eyes", "event_ts": "1.2"},
        {"type": "member_joined_channel", "user": ws.bob, "channel": ws.general},
        {"type": "app_home_opened", "user": ws.alice, "channel": ws.alice_dm, "tab": "home"},
    ):
        delivery = await sim.send_event(event, retries=False)
        assert isinstance(delivery, HttpDelivery)
        assert delivery.last.status == 200, event["type"]  # a 404 would make Slack retry


async def test_slacks_unsigned_ssl_check_is_answered_and_nothing_else_rides_on_it(
    sim: SlackSimulator, start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Slack checks a slash command's Request URL with an *unsigned* ``ssl_check=1``
    (slackapi/bolt-js#1397 shows the request): it gets 200, with nothing dispatched; a
    body that adds anything to it (bolt-js#2898) or another value is still unsigned: 401."""
    caplog.set_level(logging.DEBUG)  # before bolt copies the root level into its loggers
    bot = await start_bot()
    payload = json.dumps({"type": "block_actions", "mark": SECRET_MARK})
    async with aiohttp.ClientSession() as session:
        form = {"Content-Type": FORM}
        async with session.post(bot.events_url, data=b"ssl_check=1&token=xxx",
                                headers=form) as response:  # fmt: skip
            assert response.status == 200
        for body in (
            b"ssl_check=1&token=xxx&payload=" + payload.encode(),
            b"ssl_check=true&token=xxx",
            b"ssl_check=1&ssl_check=1",
        ):
            async with session.post(bot.events_url, data=body, headers=form) as response:
                assert response.status == 401, body
    assert SECRET_MARK not in "\n".join(r.getMessage() for r in caplog.records)
