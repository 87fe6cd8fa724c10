"""Fixtures: the Slack simulator and a SlackSurface on the real slack-sdk client against it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from adapters.slack.client import SlackClients
from adapters.slack.config import SurfaceConfig
from adapters.slack.recipient import RecipientView
from adapters.slack.surface import SlackSurface
from bots.simulators.slack import Message, SlackSimulator
from core.surface import ChatSurface, MessageRef
from core.turn import ThreadRef

SurfaceFactory = Callable[..., Awaitable[SlackSurface]]
ViewFactory = Callable[..., Awaitable[RecipientView]]


@pytest.fixture
async def sim() -> AsyncIterator[SlackSimulator]:
    async with SlackSimulator() as simulator:
        yield simulator


@pytest.fixture
async def make_surface(sim: SlackSimulator) -> AsyncIterator[SurfaceFactory]:
    """``await make_surface(streaming="native", ...)``: a surface with that config."""
    opened: list[tuple[SlackClients, SlackSurface]] = []

    async def make(**config: object) -> SlackSurface:
        clients = SlackClients(sim.workspace.bot_token, api_url=sim.api_url, timeout=5.0)
        await clients.start()
        surface = SlackSurface(clients.api, SurfaceConfig(**config))  # type: ignore[arg-type]
        opened.append((clients, surface))
        return surface

    yield make
    for clients, surface in opened:
        await surface.aclose()
        await clients.stop()


@pytest.fixture
def make_view(sim: SlackSimulator, make_surface: SurfaceFactory) -> ViewFactory:
    """``await make_view(streaming="native", ...)``: a surface with that config, as it
    replies to Alice."""

    async def make(**config: object) -> RecipientView:
        return (await make_surface(**config)).for_recipient(sim.workspace.alice)

    return make


@pytest.fixture
async def native(make_view: ViewFactory) -> RecipientView:
    """Native streaming (``chat.startStream``), the reply's recipient Alice."""
    return await make_view(streaming="native")


@pytest.fixture
async def surface(make_surface: SurfaceFactory) -> SlackSurface:
    """Edit mode rendering mrkdwn by hand (``SLACK_RENDER=mrkdwn``); the default, Markdown
    in ``markdown`` blocks, is tested in test_markdown_render.py."""
    return await make_surface(render="mrkdwn")


def thread_of(sim: SlackSimulator, text: str = "question", channel: str | None = None) -> ThreadRef:
    """A user's message in #general (or ``channel``), as the thread a reply goes into."""
    ws = sim.workspace
    message = sim.user_message(channel or ws.general, ws.alice, text)
    return ThreadRef("slack", ws.team_id, message.channel, message.ts)


def shown(sim: SlackSimulator, ref: MessageRef) -> Message:
    """The message ``ref`` names, as the simulator holds it now (it must exist)."""
    message = sim.message(ref.where.channel, ref.message_id)
    assert message is not None, ref
    return message


def replies(sim: SlackSimulator, where: ThreadRef) -> list[Message]:
    """The bot's messages in the thread ``where``, oldest first."""
    return sim.bot_replies(where.channel, where.thread or "")


async def thinking_placeholder(
    sim: SlackSimulator, surface: ChatSurface
) -> tuple[ThreadRef, Message]:
    """A new thread, and the "Thinking…" placeholder that ``surface`` posted in it (in
    placeholder mode, or once Slack refused the status)."""
    where = thread_of(sim)
    await surface.set_status(where, "Thinking…")
    (placeholder,) = replies(sim, where)
    return where, placeholder
