"""The Slack simulator's thread reading and file host (issue 12), checked with the real
slack-sdk client and plain HTTP: conversations.replies pages by cursor within
oldest/latest, checks its scope; url_private serves the bot token only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bots.simulators.slack import SlackSimulator


@pytest.fixture
async def sim() -> AsyncIterator[SlackSimulator]:
    async with SlackSimulator() as simulator:
        yield simulator


def client(sim: SlackSimulator) -> AsyncWebClient:
    return AsyncWebClient(token=sim.workspace.bot_token, base_url=sim.api_url)


async def test_replies_page_by_cursor_within_the_range(sim: SlackSimulator) -> None:
    ws = sim.workspace
    parent = sim.user_message(ws.general, ws.alice, "p")
    replies = [sim.user_message(ws.general, ws.bob, f"r{n}", thread_ts=parent.ts) for n in range(7)]
    slack = client(sim)
    seen: list[str] = []
    cursor = None
    while True:
        page = await slack.conversations_replies(
            channel=ws.general, ts=parent.ts, limit=3, cursor=cursor,
            oldest=replies[0].ts, latest=replies[6].ts,
        )  # fmt: skip
        seen += [m["text"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not page["has_more"]:
            assert cursor == ""
            break
    assert seen == ["r1", "r2", "r3", "r4", "r5"]  # oldest and latest are exclusive
    whole = await slack.conversations_replies(channel=ws.general, ts=replies[3].ts)
    assert [m["text"] for m in whole["messages"]] == ["p"] + [f"r{n}" for n in range(7)]
    assert whole["messages"][0]["reply_count"] == 7


async def test_replies_errors(sim: SlackSimulator) -> None:
    ws = sim.workspace
    parent = sim.user_message(ws.general, ws.alice, "p")
    slack = client(sim)
    with pytest.raises(SlackApiError) as missing:
        await slack.conversations_replies(channel=ws.general, ts="1.000001")
    assert missing.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as cursor:
        await slack.conversations_replies(channel=ws.general, ts=parent.ts, cursor="bm9wZQ==")
    assert cursor.value.response["error"] == "invalid_cursor"
    sim.remove_scope("channels:history")
    with pytest.raises(SlackApiError) as scope:
        await slack.conversations_replies(channel=ws.general, ts=parent.ts)
    assert scope.value.response["error"] == "missing_scope"
    assert scope.value.response["needed"] == "channels:history"
    # A DM thread needs im:history, which the token still has.
    dm = sim.user_message(ws.alice_dm, ws.alice, "hi")
    assert (await slack.conversations_replies(channel=ws.alice_dm, ts=dm.ts))["ok"]


async def test_url_private_serves_the_bot_token_only(sim: SlackSimulator) -> None:
    ws = sim.workspace
    message = sim.user_message(
        ws.general, ws.alice, "see", files=[("a.txt", b"hello", "text/plain")]
    )
    (shared,) = message.to_api()["files"]
    assert message.subtype == "file_share" and shared["url_private"].startswith(sim.base_url)
    bearer = {"Authorization": f"Bearer {ws.bot_token}"}
    async with aiohttp.ClientSession() as http:
        async with http.get(shared["url_private"], headers=bearer) as ok:
            assert ok.status == 200 and await ok.read() == b"hello"
            assert ok.content_type == "text/plain"
        async with http.get(shared["url_private"], allow_redirects=False) as anonymous:
            assert anonymous.status == 302
            assert anonymous.headers["Location"].startswith(ws.url + "?redir=")
        sim.remove_scope("files:read")
        async with http.get(shared["url_private"], headers=bearer) as page:
            assert page.status == 200 and page.content_type == "text/html"  # a sign-in page
    assert [c.status for c in sim.calls("files-pri")] == [200, 302, 200]
