"""The real bots answer what a person writes in the page, as they would in Slack and
Discord: in a thread, streamed by edits the page sees grow, with a working Stop button,
files as attachments, follow-ups in the thread, and every API call on the timeline."""

from __future__ import annotations

import asyncio
import functools

import pytest

from bots.discord.texts import NEW_DONE
from tests.playground.conftest import PageStream, Running
from tests.playground.helpers import (
    bot_replies,
    finished,
    reply_text,
    stop_action,
)
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import eventually

PLATFORMS = ("slack", "discord")


GROWING = "Hello from a scripted agent. It grows in steps, held by the test, and ends here."
STEPS = {5: "agent.", 9: "steps,"}  # hold after that many tokens, until the page shows that word


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_a_mention_is_answered_in_its_thread_growing_by_edits(
    lyzr_playground: Running, lyzr: LyzrServer, platform: str
) -> None:
    # The agent holds after each step until the page shows it, so the reply grows by edits
    # however slow the machine (the demo's 2.3 s greeting once had to beat the edit pace).
    holds = {after: asyncio.Event() for after in STEPS}
    lyzr.enqueue(LyzrScript(tokens=split_words(GROWING), delay=0.02, holds=holds))
    playground = lyzr_playground
    page = await playground.open_page()
    posted = await playground.post(platform, "@threadcast hello")

    for after, word in STEPS.items():
        await page.until(functools.partial(_shows, page, platform, posted, word))
        holds[after].set()
    await page.until(lambda: finished(platform, page.thread(platform, posted)))

    thread = page.thread(platform, posted)
    assert reply_text(thread).rstrip().endswith(GROWING)
    (reply,) = bot_replies(thread)
    seen = page.history[reply["id"]]
    assert len(set(seen)) >= 3, seen  # first words, at least one longer text, the final one
    kinds = [c["kind"] for c in page.calls[platform]]
    assert "post" in kinds and "edit" in kinds
    assert "limited" not in kinds  # the real limits: the bot stays under them


def _shows(page: PageStream, platform: str, posted: str, word: str) -> bool:
    return word in reply_text(page.thread(platform, posted))


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_stop_ends_a_reply_with_its_partial_text(
    lyzr_playground: Running, lyzr: LyzrServer, platform: str
) -> None:
    # An agent that holds after its first words: the reply still streams when Stop is
    # pressed, however loaded the machine (the demo's long reply lasts about 4 s).
    said, never = "The first words of a reply that waits here.", " Never sent."
    script = LyzrScript(tokens=split_words(said + never), hold_after=len(split_words(said)))
    lyzr.enqueue(script)
    playground = lyzr_playground
    page = await playground.open_page()
    posted = await playground.post(platform, "@threadcast tell me everything")
    await page.until(lambda: any(stop_action(platform, m) for m in page.thread(platform, posted)))
    await page.until(lambda: said in reply_text(page.thread(platform, posted)))
    streaming = next(m for m in page.thread(platform, posted) if stop_action(platform, m))

    status, answer = await playground.call(
        platform,
        "press",
        {
            "message": streaming["id"],
            "action": stop_action(platform, streaming),
            "user": playground.person(platform, "bob"),  # anyone in the thread may stop it
        },
    )

    assert status == 200, answer
    await page.until(lambda: finished(platform, page.thread(platform, posted)))
    text = reply_text(page.thread(platform, posted))
    assert said in text and "Stopped" in text
    assert "Never sent" not in text
    await eventually(lambda: lyzr.streams[0].disconnected, what="the agent's stream closing")
    assert not lyzr.streams[0].finished


# Slack answers replies in a thread it has a conversation in; Discord delivers a message
# without a mention empty unless the bot has the privileged Message Content intent, which
# it does not ask for by default (DISCORD_MESSAGE_CONTENT), so there a follow-up mentions it.
@pytest.mark.parametrize(
    ("platform", "follow_up"),
    [("slack", "what did I say?"), ("discord", "@threadcast what did I say?")],
)
async def test_a_follow_up_in_the_thread_is_answered_there(
    playground: Running, platform: str, follow_up: str
) -> None:
    page = await playground.open_page()
    posted = await playground.post(platform, "@threadcast hello")
    await page.until(lambda: finished(platform, page.thread(platform, posted)))

    await playground.post(platform, follow_up, thread=posted, user="bob")

    await page.until(lambda: len(bot_replies(page.thread(platform, posted))) == 2)
    await page.until(lambda: finished(platform, page.thread(platform, posted)))
    assert "hello" in bot_replies(page.thread(platform, posted))[-1]["text"]


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_the_agents_file_is_attached_and_served(playground: Running, platform: str) -> None:
    page = await playground.open_page()
    posted = await playground.post(platform, "@threadcast file")

    await page.until(lambda: any(m["files"] for m in bot_replies(page.thread(platform, posted))))

    shared = next(f for m in page.thread(platform, posted) for f in m["files"])
    assert shared["name"] == "threadcast-demo.csv"
    async with playground.http.get(f"/files/{platform}/{shared['id']}") as response:
        assert response.status == 200
        assert (await response.read()).startswith(b"keyword,what it shows")
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert response.headers["Content-Security-Policy"] == "sandbox"


async def test_a_page_that_connects_later_gets_everything_in_its_snapshot(
    playground: Running,
) -> None:
    page = await playground.open_page()
    posted = await playground.post("slack", "@threadcast hello")
    await page.until(lambda: finished("slack", page.thread("slack", posted)))

    later = await playground.open_page()

    assert later.thread("slack", posted) == page.thread("slack", posted)
    # The first page may not have read the latest calls yet; all it read are in the snapshot.
    assert later.calls["slack"][: len(page.calls["slack"])] == page.calls["slack"]


async def test_a_discord_command_typed_in_a_thread_runs_as_the_slash_command(
    playground: Running,
) -> None:
    """Discord's client runs ``/new`` typed in the composer as the bot's command; the page
    once posted it as a message, which the bot (mentions only) answered with its note that
    it cannot read messages that do not mention it."""
    page = await playground.open_page()
    posted = await playground.post("discord", "@threadcast hello")
    await page.until(lambda: finished("discord", page.thread("discord", posted)))

    await playground.post("discord", "/new", thread=posted)

    await page.until(lambda: len(bot_replies(page.thread("discord", posted))) == 2)
    await page.until(lambda: bot_replies(page.thread("discord", posted))[-1]["text"] != "")
    assert bot_replies(page.thread("discord", posted))[-1]["text"] == NEW_DONE
    assert not [m for m in page.thread("discord", posted) if not m["bot"]]  # no "/new" post
