"""Structured logs: one JSON object per line, the turn's ids on every line logged inside a
turn (whichever task logs it), and secrets scrubbed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from aiohttp import web

from core.config import Settings
from core.errors import SurfaceError
from core.feedback.webhook import FeedbackWebhook
from core.ops.logs import fatal, redact, setup_logging, turn_context
from core.relay.relay import Relay
from core.relay.scheduler import EditScheduler
from core.responder import Responder
from core.sessions.gate import TurnGate
from core.turn import ThreadRef, Turn
from tests.fake_agent import ScriptedAgent
from tests.surfaces import DEFAULT_LIMITS, RecordingSurface
from tests.web import serving

WHERE = ThreadRef(platform="test", workspace="W", channel="C", thread="T")
agent_log = logging.getLogger("core.agents.scripted")


def chatty_agent() -> ScriptedAgent:
    """Logs from inside its stream (the relay's pump task) and leaks a token on purpose."""

    def leak(message: str) -> None:
        agent_log.warning("calling the model with Authorization: Bearer abcdefghijklmnop")

    return ScriptedAgent(0.03, words=lambda message: ["one", " two", " three"], on_call=leak)


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[io.StringIO, Settings]]:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-111-222-secretvalue")
    monkeypatch.setenv("DISCORD_TOKEN", "plain-discord-secret-value")
    settings = Settings(
        log_level="INFO",
        agent="openai",
        openai_api_key="opensesame-key-123",
        redis_url="redis://:hunter2-password@redis:6379/0",
    )
    with logging_to(settings, json=True) as stream:
        yield stream, settings


@contextlib.contextmanager
def logging_to(settings: Settings, *, json: bool) -> Iterator[io.StringIO]:
    """The app's logging set up to write into a string; the root logger restored after."""
    root = logging.getLogger()
    handlers, level, hook = list(root.handlers), root.level, sys.excepthook
    thread_hook = threading.excepthook
    stream = io.StringIO()
    setup_logging(settings, json=json, stream=stream)
    try:
        yield stream
    finally:
        sys.excepthook = hook
        threading.excepthook = thread_hook
        logging.captureWarnings(False)
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)


def events(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


async def test_every_line_of_a_turn_carries_its_ids(
    captured: tuple[io.StringIO, Settings], redis_url: str, namespace: str
) -> None:
    stream, _ = captured
    redis: aioredis.Redis = aioredis.from_url(redis_url, decode_responses=True)
    surface = RecordingSurface(limits=replace(DEFAULT_LIMITS, min_edit_interval=0.02))
    surface.fail("edit", SurfaceError("edit refused"), times=1)  # the writer logs a warning
    responder = Responder(
        agent=chatty_agent(), gate=TurnGate(redis, namespace=namespace),
        relay=Relay(surface, EditScheduler()), max_input_chars=1000,
    )  # fmt: skip
    try:
        logging.getLogger("core.test").warning("before the turn")
        turn = Turn(where=WHERE, user="U1", message_id="msg-1", text="hello")
        assert (await responder.handle(turn)).status == "answered"
        assert (await responder.handle(turn)).status == "duplicate"  # logged at INFO
    finally:
        await redis.aclose()
    lines = events(stream)
    assert all({"ts", "level", "logger", "msg"} <= line.keys() for line in lines)
    outside, *inside = lines
    assert outside["msg"] == "before the turn" and "turn" not in outside
    loggers = {line["logger"] for line in inside}
    assert {"core.agents.scripted", "core.relay.writer", "core.responder"} <= loggers
    conversation = responder.conversation_of(WHERE, user="U1", is_dm=False)
    for line in inside:
        assert (line.get("conversation"), line.get("turn")) == (conversation, "msg-1"), line


def test_secrets_are_never_logged(captured: tuple[io.StringIO, Settings]) -> None:
    stream, _ = captured
    log = logging.getLogger("core.test")
    log.warning("token %s and app %s", "xoxb-111-222-secretvalue", "xapp-1-A0-123-abc")
    log.warning("discord %s", "plain-discord-secret-value")
    log.warning("key=%s redis=%s", "opensesame-key-123", "redis://:hunter2-password@redis:6379/0")
    log.warning("headers {'x-api-key': 'lyzr-raw-key'} Bearer sk-abcdefghijklmnopqrstuv")
    log.warning("discord-shaped MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123")
    try:
        raise RuntimeError("failed with xoxb-111-222-secretvalue")
    except RuntimeError:
        log.exception("in a traceback too")
    text = stream.getvalue()
    for secret in (
        "secretvalue", "xapp-1", "plain-discord-secret-value", "opensesame", "hunter2",
        "lyzr-raw-key", "sk-abcdef", "GabcDE",
    ):  # fmt: skip
        assert secret not in text, secret
    assert text.count("[REDACTED]") >= 9
    assert "redis://:[REDACTED]@redis:6379/0" in text


def test_redact_leaves_ordinary_text_alone() -> None:
    text = "a reply to https://example.com/a:b, in thread 1712.0001 by U123"
    assert redact(text, ["short"]) == text


def test_text_format_shows_the_turn(capsys: pytest.CaptureFixture[str]) -> None:
    with (
        logging_to(Settings(log_level="INFO"), json=False) as stream,
        turn_context("slack:T:C:1.2", "m9"),
    ):
        logging.getLogger("core.test").info("inside")
    assert "INFO core.test [slack:T:C:1.2 m9]: inside" in stream.getvalue()


async def test_the_feedback_webhook_url_is_never_logged() -> None:
    """A Slack or Discord webhook URL carries its credential in the path; httpx logs every
    request's URL at INFO."""
    received = asyncio.Event()

    async def hook(request: web.Request) -> web.Response:
        received.set()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    async with serving(app) as base:
        url = f"{base}/services/T0001/B0002/hook-credential-0123456789"
        discord = "https://discord.com/api/webhooks/123456789/discord-hook-credential-abc"
        settings = Settings(log_level="INFO", feedback=True, feedback_url=url)
        with logging_to(settings, json=True) as stream:
            async with httpx.AsyncClient() as client:
                webhook = FeedbackWebhook(url, client)
                webhook.send({"vote": "up"})
                await received.wait()
                await webhook.aclose()
            logging.getLogger("core.test").warning("an agent's hook %s", discord)
    text = stream.getvalue()
    assert "HTTP Request: POST" in text  # httpx's line is there, without the credential
    assert "hook-credential" not in text


def test_a_feedback_url_path_is_redacted_only_as_part_of_that_url() -> None:
    """The webhook's path is secret where it is the webhook's: the same words elsewhere (a
    route, a source file's path in a traceback) stay readable."""
    url = "https://votes.example/threadcast?key=credential-0123456789"
    settings = Settings(log_level="INFO", feedback=True, feedback_url=url)
    with logging_to(settings, json=False) as stream:
        log = logging.getLogger("core.test")
        log.warning("POST %s failed", url)
        log.warning("POST https://votes.example/threadcast failed")
        log.warning('File "/srv/threadcast/core/relay.py", line 3; POST /slack/events 200')
    text = stream.getvalue()
    assert "credential" not in text and "votes.example/threadcast failed" not in text
    assert '"/srv/threadcast/core/relay.py"' in text


@pytest.mark.parametrize(
    ("run", "status", "level"),
    [
        ("fail()", 1, "CRITICAL"),  # the process ends with it
        ("t = threading.Thread(target=fail); t.start(); t.join()", 0, "ERROR"),  # goes on
    ],
)
def test_an_uncaught_exception_is_one_redacted_json_line(run: str, status: int, level: str) -> None:
    """What ends a service, or one of its threads, with an exception nobody caught reaches
    the collector as JSON (traceback included), not as raw multi-line text, and without
    the secret it held."""
    script = (
        "import threading\n"
        "from core.config import Settings\n"
        "from core.ops.logs import setup_logging\n"
        "setup_logging(Settings(agent='openai', openai_api_key='opensesame-key-123'), json=True)\n"
        "def fail():\n"
        "    raise RuntimeError('refused key opensesame-key-123')\n"
        f"{run}\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == status
    assert "opensesame-key-123" not in done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    event = json.loads(lines[0])
    assert event["level"] == level
    assert "RuntimeError: refused key [REDACTED]" in event["exc"]
    assert "in fail" in event["exc"]


def test_a_warning_is_a_json_line() -> None:
    """Python prints a warning (a coroutine never awaited…) as raw text on stderr; in JSON
    mode it goes through logging like any other line."""
    script = (
        "import warnings\n"
        "from core.config import Settings\n"
        "from core.ops.logs import setup_logging\n"
        "setup_logging(Settings(agent='openai'), json=True)\n"
        "warnings.warn('coroutine never awaited', RuntimeWarning)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    event = json.loads(lines[0])
    assert (event["level"], event["logger"]) == ("WARNING", "py.warnings")
    assert "RuntimeWarning: coroutine never awaited" in event["msg"]


@pytest.mark.parametrize("json_logs", [True, False])
def test_the_line_a_process_stops_on_follows_the_log_format(
    json_logs: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``fatal`` (the CLI's and the Discord bot's last line): a JSON log line, scrubbed, once
    the logs are JSON, as the collector parses every line; text for a person otherwise."""
    monkeypatch.setenv("DISCORD_TOKEN", "plain-discord-secret-value")
    settings = Settings(agent="demo", log_level="INFO")
    with logging_to(settings, json=json_logs) as stream:
        fatal("the gateway refused plain-discord-secret-value", json=json_logs, settings=settings)
    assert stream.getvalue() == ""  # not through the root logger's handler: on stderr
    if json_logs:
        (event,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
        assert (event["level"], event["logger"]) == ("CRITICAL", "threadcast")
        assert event["msg"] == "the gateway refused [REDACTED]"
    else:
        assert (
            capsys.readouterr().err
            == "threadcast: the gateway refused plain-discord-secret-value\n"
        )
