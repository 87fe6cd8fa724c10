"""👍 / 👎 in the page do what they do in the apps: 👎 opens the bot's "why?" dialog, shown
as the bot sent it and submitted as the platform submits it (Slack's ``view_submission``,
Discord's MODAL_SUBMIT); the bot's answers to a vote are private to the voter (Slack's
``chat.postEphemeral``, Discord's flag 64) and marked so."""

from __future__ import annotations

import pytest

from core.texts import REASON_HINT, REASON_LABEL, REASON_TITLE
from tests.playground.conftest import Json, PageStream, Running
from tests.playground.helpers import bot_replies, finished

PLATFORMS = ("slack", "discord")


async def answered(playground: Running, page: PageStream, platform: str) -> tuple[str, Json]:
    """A mention and the bot's finished reply to it (the one with 👍 / 👎)."""
    posted = await playground.post(platform, "@threadcast hello")
    await page.until(lambda: finished(platform, page.thread(platform, posted)))
    return posted, bot_replies(page.thread(platform, posted))[-1]


def vote(platform: str, reply: Json, side: str, user: str) -> Json:
    """The press body of 👍 (``up``) or 👎 (``down``): Slack's two feedback buttons share an
    action id and differ by value; Discord's are two buttons."""
    if platform == "slack":
        action = reply["blocks"][-1]["elements"][0]["action_id"]
        return {"message": reply["id"], "action": action, "value": side, "user": user}
    return {"message": reply["id"], "action": f"threadcast:feedback:{side}", "user": user}


def texts(value: object) -> str:
    """Every string of a JSON value, to find the dialog's words wherever each platform
    keeps them."""
    if isinstance(value, dict):
        return "\n".join(texts(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(texts(v) for v in value)
    return value if isinstance(value, str) else ""


def answer(platform: str, view: Json, reason: str) -> Json:
    """The dialog's values as the platform's client submits them."""
    if platform == "slack":
        block = view["blocks"][0]
        return {block["block_id"]: {block["element"]["action_id"]: reason}}
    return {view["components"][0]["components"][0]["custom_id"]: reason}


def private(page: PageStream, platform: str, thread: str) -> list[Json]:
    return [m for m in page.thread(platform, thread) if m["ephemeral"]]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_thumbs_down_shows_the_bots_why_dialog_and_submits_it(
    playground: Running, platform: str
) -> None:
    page = await playground.open_page()
    posted, reply = await answered(playground, page, platform)
    bob = playground.person(platform, "bob")

    status, _ = await playground.call(platform, "press", vote(platform, reply, "down", bob))

    assert status == 200
    await page.until(lambda: bool(page.dialogs[platform]))
    [dialog] = page.dialogs[platform]
    assert dialog["user"] == bob
    for words in (REASON_TITLE, REASON_LABEL, REASON_HINT):
        assert words in texts(dialog["view"])
    values = answer(platform, dialog["view"], "Too short.")
    status, _ = await playground.call(
        platform, "submit", {"dialog": dialog["id"], "values": values}
    )
    assert status == 200
    await page.until(lambda: not page.dialogs[platform])
    await page.until(
        lambda: any("reason was recorded" in m["text"] for m in private(page, platform, posted))
    )
    [thanks] = [m for m in private(page, platform, posted) if "reason" in m["text"]]
    assert thanks["for"] == bob and thanks["bot"]
    again = await playground.call(platform, "submit", {"dialog": dialog["id"], "values": values})
    assert again[0] == 400 and "no open dialog" in again[1]["error"]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_the_thanks_for_a_vote_is_private_to_the_voter(
    playground: Running, platform: str
) -> None:
    page = await playground.open_page()
    posted, reply = await answered(playground, page, platform)
    carol = playground.person(platform, "carol")

    status, _ = await playground.call(platform, "press", vote(platform, reply, "up", carol))

    assert status == 200
    await page.until(lambda: bool(private(page, platform, posted)))
    [thanks] = private(page, platform, posted)
    assert "Thanks for the 👍" in thanks["text"] and thanks["for"] == carol
    assert not [m for m in page.thread(platform, posted) if m["ephemeral"] is not True and
                "Thanks" in m["text"]]  # fmt: skip
    # 👎, then the dialog closed without an answer: gone, and the bot is told nothing.
    alice = playground.person(platform)
    assert (await playground.call(platform, "press", vote(platform, reply, "down", alice)))[
        0
    ] == 200
    await page.until(lambda: bool(page.dialogs[platform]))
    [dialog] = page.dialogs[platform]
    assert (await playground.call(platform, "cancel", {"dialog": dialog["id"]}))[0] == 200
    await page.until(lambda: not page.dialogs[platform])
    assert (await playground.call(platform, "cancel", {"dialog": dialog["id"]}))[0] == 400
