"""The simulator's chat.postEphemeral, with the real slack-sdk client."""

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


async def test_an_ephemeral_is_kept_aside_and_shown_in_threads_with_replies(
    sim: SlackSimulator,
) -> None:
    ws = sim.workspace
    client = AsyncWebClient(token=ws.bot_token, base_url=sim.api_url)
    root = sim.user_message(ws.general, ws.alice, "a message without replies")
    answer = await client.chat_postEphemeral(channel=ws.general, user=ws.alice, text="psst")
    assert answer["ok"] and answer["message_ts"]
    await client.chat_postEphemeral(
        channel=ws.general, user=ws.alice, text="in a thread", thread_ts=root.ts
    )
    sim.user_message(ws.general, ws.bob, "a reply", thread_ts=root.ts)
    await client.chat_postEphemeral(
        channel=ws.general, user=ws.alice, text="now shown", thread_ts=root.ts
    )
    notes = sim.store.ephemerals
    assert [(n.text, n.shown) for n in notes] == [
        ("psst", True), ("in a thread", False), ("now shown", True)
    ]  # fmt: skip
    assert all(m.text != "psst" for m in sim.channel_messages(ws.general))  # not in the channel


# slack-sdk warns when ``text`` is empty: that is the very case under test.
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_ephemeral_errors(sim: SlackSimulator) -> None:
    ws = sim.workspace
    client = AsyncWebClient(token=ws.bot_token, base_url=sim.api_url)
    cases: list[tuple[dict[str, str], str]] = [
        ({"channel": ws.alice_dm, "user": ws.bob, "text": "x"}, "user_not_in_channel"),
        ({"channel": ws.general, "user": "U404", "text": "x"}, "user_not_found"),
        ({"channel": "C404", "user": ws.alice, "text": "x"}, "channel_not_found"),
        ({"channel": ws.general, "user": ws.alice, "text": ""}, "no_text"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as caught:
            await client.chat_postEphemeral(**kwargs)  # type: ignore[arg-type]
        assert caught.value.response["error"] == error
