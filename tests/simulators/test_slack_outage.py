"""The Slack simulator's outages, as the real slack-sdk client meets them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.simulators.slack import SlackSimulator


@pytest.fixture
async def sim() -> AsyncIterator[SlackSimulator]:
    async with SlackSimulator() as simulator:
        yield simulator


def client(sim: SlackSimulator, timeout: int = 30) -> AsyncWebClient:
    return AsyncWebClient(
        token=sim.workspace.bot_token, base_url=sim.api_url, timeout=timeout, retry_handlers=[]
    )


async def test_a_5xx_outage_is_a_503_page_then_slack_is_back(sim: SlackSimulator) -> None:
    web = client(sim)
    channel = sim.workspace.general
    sim.start_outage("5xx")
    with pytest.raises(SlackApiError) as refused:
        await web.chat_postMessage(channel=channel, text="hello")
    assert refused.value.response.status_code == 503
    assert not refused.value.response.get("error")  # an HTML page: no Slack error code
    (call,) = sim.calls("chat.postMessage")
    assert (call.status, call.error) == (503, "service_unavailable")
    sim.end_outage()
    answer = await web.chat_postMessage(channel=channel, text="hello")
    assert answer["ok"] and sim.channel_messages(channel)[-1].text == "hello"


async def test_an_unreachable_slack_times_the_client_out(sim: SlackSimulator) -> None:
    web = client(sim, timeout=1)
    sim.start_outage("unreachable")
    with pytest.raises(TimeoutError):
        await web.chat_postMessage(channel=sim.workspace.general, text="hello")
    assert len(sim.calls("chat.postMessage")) == 1
    sim.end_outage()
    assert (await web.chat_postMessage(channel=sim.workspace.general, text="again"))["ok"]
