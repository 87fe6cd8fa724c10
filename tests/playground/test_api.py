"""The page's HTTP API refuses bad input with a reason the page shows, and loses nothing."""

from __future__ import annotations

import pytest

from tests.playground.conftest import Running


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"channel": "nope", "user": "{alice}", "text": "hi"}, "no channel"),
        ({"channel": "{general}", "user": "nobody", "text": "hi"}, "no person"),
        ({"channel": "{general}", "user": "{alice}", "text": "   "}, "empty"),
        ({"channel": "{general}", "user": "{alice}", "text": 5}, "'text' must be a string"),
        ({"channel": "{general}", "user": "{alice}", "text": "hi", "thread": "9"}, "thread"),
        (["not", "an", "object"], "JSON object"),
    ],
)
@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_a_bad_post_is_refused_with_its_reason(
    playground: Running, platform: str, body: object, reason: str
) -> None:
    if isinstance(body, dict):
        ids = {"{alice}": playground.person(platform), "{general}": playground.channel(platform)}
        body = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in body.items()}

    status, answer = await playground.call(platform, "post", body)

    assert status == 400
    assert reason in answer["error"]
    pane = playground.feed.panes[platform]
    assert not [m for m in pane.messages().values() if not m["bot"]]  # nothing was posted


@pytest.mark.parametrize(
    ("platform", "limit"),
    [
        # Discord's client does not send it (the API would refuse it too); the page once
        # posted 50,000 characters, something no Discord user can do, and the bot answered.
        ("discord", 2_000),
        # Slack keeps 40,000 characters of a message and cuts the rest; the page once sent
        # 50,000 and the bot answered all of them, more than anyone's Slack message holds.
        ("slack", 40_000),
    ],
)
async def test_a_message_past_the_platforms_limit_is_refused_not_cut(
    playground: Running, platform: str, limit: int
) -> None:
    mention = "@threadcast "
    body = {
        "channel": playground.channel(platform),
        "user": playground.person(platform),
        "text": mention + "x" * (limit + 1 - len(mention)),  # one character too many
    }

    status, answer = await playground.call(platform, "post", body)

    assert status == 400
    assert "too long" in answer["error"] and f"{limit + 1:,}" in answer["error"]
    assert f"{limit:,}" in answer["error"]
    assert not playground.feed.panes[platform].messages()  # nothing was posted
    body["text"] = str(body["text"])[:-1]  # at the limit: sent
    assert (await playground.call(platform, "post", body))[0] == 200


async def test_unknown_platforms_actions_and_files_are_404(playground: Running) -> None:
    assert (await playground.call("teams", "post", {}))[0] == 404
    assert (await playground.call("slack", "delete", {}))[0] == 404
    async with playground.http.get("/files/slack/F404") as response:
        assert response.status == 404


async def test_a_body_that_is_not_json_is_refused(playground: Running) -> None:
    headers = {"Content-Type": "application/json"}
    async with playground.http.post("/api/slack/post", data=b"{oops", headers=headers) as response:
        assert response.status == 400
        assert "bad request" in (await response.json())["error"]


@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_pressing_a_button_that_is_gone_says_so(playground: Running, platform: str) -> None:
    posted = await playground.post(platform, "just words, no mention")

    status, answer = await playground.call(
        platform,
        "press",
        {"message": posted, "action": "threadcast_stop", "user": playground.person(platform)},
    )

    assert status == 400
    assert "button" in answer["error"]


async def test_the_page_and_its_assets_are_served(playground: Running) -> None:
    async with playground.http.get("/") as response:
        assert response.status == 200
        page = await response.text()
    for asset in ("/static/js/main.js", "/static/css/page.css"):
        assert asset in page
        async with playground.http.get(asset) as response:
            assert response.status == 200


async def test_another_sites_form_cannot_post(playground: Running) -> None:
    """A page on another origin can send a text/plain body without asking (no preflight)."""
    body = '{"channel": "C0001GENERAL", "user": "U0001ALICE", "text": "@threadcast hi"}'
    headers = {"Content-Type": "text/plain"}
    async with playground.http.post("/api/slack/post", data=body, headers=headers) as response:
        assert response.status == 415
    assert not playground.feed.panes["slack"].messages()


@pytest.mark.parametrize(
    ("host", "status"), [("attacker.example", 421), ("localhost:8000", 200), ("[::1]:80", 200)]
)
async def test_only_loopback_host_names_are_served_on_loopback(
    playground: Running, host: str, status: int
) -> None:
    async with playground.http.get("/", headers={"Host": host}) as response:
        assert response.status == status
