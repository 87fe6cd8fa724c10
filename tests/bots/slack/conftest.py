"""The real Slack bot (bolt AsyncApp + SlackService) against the simulator, with the real
Runtime on the test Redis (sessions under the test's namespace) and the local Lyzr server
as the agent, so every reply's timing, errors and files are scripted per test.

``bot = await start_bot(mode="http" | "socket", **slack_settings)`` starts one instance
(several for the multi-replica tests); the fixture closes them all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Literal

import pytest

from bots.simulators.slack import Message, SimConfig, SlackSimulator, UserTurn
from bots.slack.app import SlackService
from bots.slack.settings import SlackSettings
from core.config import Settings
from core.runtime import Runtime
from tests.conftest import lyzr
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words

__all__ = ["lyzr"]  # the root fixture, re-exported for tests/deploy/conftest.py

Mode = Literal["http", "socket"]
StartBot = Callable[..., Awaitable[SlackService]]

# Short enough for a fast suite, long enough that a 2-3 s reply shows several edits.
EDIT_INTERVAL = 0.2


@pytest.fixture
async def sim(request: pytest.FixtureRequest) -> AsyncIterator[SlackSimulator]:
    """The Slack simulator; a test gives it its own configuration with
    ``@pytest.mark.parametrize("sim", [SimConfig(...)], indirect=True)``."""
    config: SimConfig | None = getattr(request, "param", None)
    async with SlackSimulator(config) as simulator:
        yield simulator


def core_settings(lyzr: LyzrServer, redis_url: str, namespace: str = "threadcast") -> Settings:
    """``namespace``: the test's own, so no state (recovery records included) leaks from one
    test to the next through the shared Redis."""
    return Settings(
        agent="lyzr",
        lyzr_api_key=lyzr.api_key,
        lyzr_agent_id="agent-under-test",
        lyzr_api_base=lyzr.base_url,
        artifact_allow_hosts="127.0.0.1",  # the local agent serves its files on loopback
        redis_url=redis_url,
        agent_retries=0,
        port=0,
        shutdown_grace=5.0,
        redis_namespace=namespace,
    )


def slack_settings(sim: SlackSimulator, mode: Mode, **overrides: Any) -> SlackSettings:
    values: dict[str, Any] = {
        "bot_token": sim.workspace.bot_token,
        "api_url": sim.api_url,
        "signing_secret": sim.app.signing_secret,
        "host": "127.0.0.1",
        "edit_interval": EDIT_INTERVAL,
    }
    if mode == "socket":
        values["app_token"] = sim.app.app_token
    values.update(overrides)
    return SlackSettings(**values)


@pytest.fixture
async def start_bot(
    sim: SlackSimulator, lyzr: LyzrServer, redis_url: str, namespace: str
) -> AsyncIterator[StartBot]:
    """Start a bot instance; each has its own Runtime (a replica) on the shared Redis."""
    async with AsyncExitStack() as stack:

        async def start(
            mode: Mode = "http",
            *,
            route: bool = True,
            core: dict[str, Any] | None = None,
            **overrides: Any,
        ) -> SlackService:
            settings = core_settings(lyzr, redis_url, namespace).model_copy(update=core or {})
            runtime = await stack.enter_async_context(Runtime(settings, namespace=namespace))
            slack = slack_settings(sim, mode, **overrides)
            connected = len(sim.socket.connections)
            service = await stack.enter_async_context(
                SlackService(settings, slack, runtime=runtime)
            )
            if mode == "http" and route:
                sim.events_url = service.events_url
            if mode == "socket":
                await sim.socket.wait_connections(connected + 1)
            return service

        yield start


def reply_script(markdown: str, *, delay: float = 0.0, **extra: Any) -> LyzrScript:
    """The agent answers ``markdown``, one word per token, ``delay`` seconds apart."""
    return LyzrScript(tokens=split_words(markdown), delay=delay, **extra)


def mention(sim: SlackSimulator, text: str) -> str:
    return f"<@{sim.workspace.bot_user_id}> {text}"


async def ask(
    sim: SlackSimulator,
    bot: SlackService,
    text: str,
    *,
    replies: int | None = None,
    thread_ts: str | None = None,
) -> UserTurn:
    """Alice mentions the bot in #general (in the thread ``thread_ts``, if given) with
    ``text``; returns once the reply has come (exactly ``replies`` bot messages in the
    thread, when given) and the bot runs no turn."""
    ws = sim.workspace
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, text), thread_ts=thread_ts)

    def replied() -> bool:
        count = len(sim.bot_replies(ws.general, turn.thread_ts))
        return count > 0 if replies is None else count == replies

    await sim.wait_for(replied)
    await sim.wait_for(lambda: not bot.bot.tasks)
    return turn


async def reply_shown(sim: SlackSimulator, channel: str, thread_ts: str) -> Message:
    """The bot's reply in a thread as soon as it shows (it may still be streaming): the one
    bot message there."""
    await sim.wait_for(lambda: bool(sim.bot_replies(channel, thread_ts)))
    (reply,) = sim.bot_replies(channel, thread_ts)
    return reply
