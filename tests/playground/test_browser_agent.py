"""The page in a real browser (:mod:`tests.playground.browser`) as replies arrive: a person
writes in each pane's composer, the thread the bot answers in opens by itself (even when
the whole reply beats the page's own post, or waits in a channel the person left), the
reply grows by edits at the platforms' pace, Stop ends a reply with its partial text, and
structured output shows as Block Kit / an embed; a message past an app's limit is refused
by the page, and an idle page stops redrawing. The agent is a local server speaking Lyzr's
wire format (``tests/servers``) that sends what each test needs, or waits (structured
output: the demo agent's).
With ``THREADCAST_SCREENSHOTS=1``, screenshots of three moments of a reply are saved under a
temporary directory (the path is printed).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported where the browser starts: every xdist worker collects this module
    from playwright.sync_api import APIResponse, Browser, Page, Route

from bots.playground import discord_pane, slack_pane
from core.agents.demo_script import compose_reply
from tests.playground.browser import (
    EMOJI,
    FED_FINISHED_REPLY,
    FEEDBACK_ROW,
    PANES,
    READ_THREADS,
    RECORD_FEED,
    WAIT_MS,
    WATCH_LENGTHS,
    _run,
    has_emoji_font,
    launch_browser,
    next_state,
    open_page,
    playground,
    screenshot,
    start_playground,
    stop_playground,
    wait_until,
    write,
)
from tests.playground.helpers import LONG_END
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import eventually


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A folder for pictures taken for a person to look at, with ``THREADCAST_SCREENSHOTS=1``
    only: no test reads them, and Chromium spends CPU on each."""
    if not os.environ.get("THREADCAST_SCREENSHOTS"):
        return None
    folder = tmp_path_factory.mktemp("playground-screenshots")
    print(f"\nscreenshots of the playground: {folder}")
    return folder


# What the held agent says before it waits: the reply is still streaming when Stop is
# pressed however slowly the browser, starved by a loaded run, gets to the click (the demo's
# long reply, about 4 s of tokens, once ended first: no "Stopped" to see).
HELD_PART = "The first half of a reply that waits, for as long as the test wants, right here."
NEVER_SENT = "This sentence is only sent once the agent is released."


@pytest.fixture(scope="module")
def held_agent() -> Iterator[LyzrServer]:
    """A local server speaking Lyzr's wire format whose replies stop after their first
    half until the module ends (a model thinking for minutes, as far as threadcast knows)."""
    server = LyzrServer()
    tokens = split_words(HELD_PART) + split_words(" " + NEVER_SENT)
    server.default = LyzrScript(tokens=tokens, hold_after=len(split_words(HELD_PART)))
    _run(server.start())
    yield server
    _run(_release(server.default.hold))
    _run(server.stop())


# A whole reply, sent at once where a test needs one that finishes.
QUICK_ANSWER = "A quick and complete answer."


async def _release(hold: asyncio.Event) -> None:
    hold.set()


@pytest.fixture(scope="module")
def held_playground_url(
    tmp_path_factory: pytest.TempPathFactory, held_agent: LyzrServer
) -> Iterator[str]:
    yield from playground(
        tmp_path_factory.mktemp("held-playground"),
        LYZR_API_KEY=held_agent.api_key,
        LYZR_AGENT_ID="held-agent",
        LYZR_API_BASE=held_agent.url,
    )


def test_each_reply_streams_into_a_thread_that_opens_by_itself(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer, screenshots: Path | None
) -> None:
    # The demo's long reply (several messages), sent by the held agent in three parts: each
    # part is released once both panes showed the one before while streaming, so each grows
    # through two lengths however starved the browser or the bots (a straight 4 s of tokens
    # once reached a pane as its first post and then its final edit only).
    tokens = split_words(compose_reply("long", []).text)
    holds = {len(tokens) // 3: asyncio.Event(), 2 * len(tokens) // 3: asyncio.Event()}
    script = LyzrScript(tokens=tokens, delay=0.002, holds=holds)
    held_agent.enqueue(script, script)  # one request per pane, the same parts
    page, errors = open_page(browser, held_playground_url)
    page.evaluate(WATCH_LENGTHS)
    for pane in PANES:
        write(page, pane, "@threadcast long")

    state: dict[str, Any] = {}
    growing: dict[str, list[int]] = {pane: [] for pane in PANES}
    while not all(LONG_END in state.get(p, {}).get("text", "") for p in PANES) or any(
        state[p]["streaming"] for p in PANES
    ):
        state = next_state(page, state)
        growing = page.evaluate("() => window.streamedLengths")
        counts = min(len(growing[p]) for p in PANES)
        for hold in list(holds.values())[:counts]:  # both panes showed `counts` lengths
            if not hold.is_set():
                _run(_release(hold))
        if counts >= 1:
            screenshot(page, screenshots, "1-first-words.png")
        if counts >= 2:
            screenshot(page, screenshots, "2-growing.png")
    screenshot(page, screenshots, "3-complete.png")
    page.close()

    for pane in PANES:
        assert state[pane]["open"]  # nobody clicked: the thread opened by itself
        assert len(growing[pane]) >= 2, growing  # seen at two lengths before the end
        # The finished reply ends with the agent's words (then, once added, 👍 / 👎, named
        # where the machine has no emoji font).
        assert re.sub(FEEDBACK_ROW, "", state[pane]["text"]).endswith(LONG_END)
    assert not errors


# What each app says of a message past its limit (the server's words, filled in by the page).
TOO_LONG = {"slack": slack_pane.TOO_LONG, "discord": discord_pane.TOO_LONG}


# Whether the page draws ``selector`` on top wherever it is: at each point of a grid over it,
# the element under the pointer is inside it.
ON_TOP = """(selector) => {
  const node = document.querySelector(selector);
  const box = node.getBoundingClientRect();
  const points = [];
  for (let x = box.left + 2; x < box.right; x += 8)
    for (let y = box.top + 2; y < box.bottom; y += 8) points.push([x, y]);
  return points.every(([x, y]) => node.contains(document.elementFromPoint(x, y)));
}"""


@pytest.mark.parametrize("pane", PANES)
def test_a_refused_message_says_why_on_top_and_keeps_the_text(
    browser: Browser, held_playground_url: str, pane: str
) -> None:
    """Past Slack's 40,000 characters (Discord's 2,000) the page sends nothing; its reason
    shows above everything (it was drawn under the "Posting as" picker) and the text stays
    to shorten. The page refuses it itself, as the apps do (a request refused with 400 put
    an error in the console)."""
    page, errors = open_page(browser, held_playground_url)
    limit = {"slack": 40_000, "discord": 2_000}[pane]
    text = "@threadcast " + "x" * (limit - 11)  # one past the limit
    write(page, pane, text)
    toast = page.locator(f'[data-pane="{pane}"] .toast')
    toast.wait_for()
    assert toast.inner_text() == TOO_LONG[pane].format(length=limit + 1, limit=limit)
    assert page.evaluate(ON_TOP, f'[data-pane="{pane}"] .toast')
    composer = page.locator(f'[data-pane="{pane}"]').get_by_placeholder(re.compile("Message"))
    assert composer.input_value() == text
    page.close()
    assert not errors  # refused by the page: no failed request in the console


@pytest.mark.parametrize("pane", PANES)
def test_stop_ends_a_reply_with_its_partial_text(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer, pane: str
) -> None:
    page, errors = open_page(browser, held_playground_url)
    streams = len(held_agent.streams)
    write(page, pane, "@threadcast tell me everything")
    thread = page.locator(f'[data-pane="{pane}"] .thread-column')
    stop = thread.get_by_role("button", name=re.compile("Stop"))
    wait_until(
        page, f"() => ({READ_THREADS})()[{json.dumps(pane)}].text.includes({json.dumps(HELD_PART)})"
    )
    label = stop.inner_text()

    stop.click()

    wait_until(
        page,
        f"() => {{ const s = ({READ_THREADS})()[{json.dumps(pane)}]; "
        "return s.text.includes('Stopped') && !s.streaming; }",
    )
    text = "\n".join(thread.locator('.msg[data-bot="true"]').all_inner_texts())
    stops_left = thread.get_by_role("button", name=re.compile("Stop")).count()
    page.close()
    assert HELD_PART in text and "Stopped" in text
    assert NEVER_SENT not in text
    assert stops_left == 0
    if not has_emoji_font():  # the ⏹ of the notice and of Discord's button: no empty box
        assert not EMOJI.search(label + text), label + text
    [stream] = held_agent.streams[streams:]
    # Stop cancelled the agent's call: the connection closed while the agent still held.
    _run(eventually(lambda: stream.disconnected, what="the agent's stream closing"))
    assert not stream.finished
    assert not errors


@pytest.mark.parametrize("pane", PANES)
def test_a_reply_that_beats_the_posts_answer_still_opens_its_thread(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer, pane: str
) -> None:
    """A quick bot's whole reply can reach the page before the page's own post is
    answered; the thread opens all the same (it once waited for an update that never came)."""
    held_agent.enqueue(LyzrScript(tokens=split_words(QUICK_ANSWER)))
    page, errors = open_page(browser, held_playground_url)
    page.evaluate(RECORD_FEED, pane)
    unanswered: list[tuple[Route, APIResponse]] = []
    page.route(f"**/api/{pane}/post", lambda route: unanswered.append((route, route.fetch())))

    write(page, pane, "@threadcast quick")
    wait_until(page, FED_FINISHED_REPLY)
    [(route, answer)] = unanswered
    route.fulfill(response=answer)

    wait_until(
        page,
        f"() => {{ const s = ({READ_THREADS})()[{json.dumps(pane)}]; "
        f"return s.open && s.text.includes({json.dumps(QUICK_ANSWER)}); }}",
    )
    page.close()
    assert not errors


def test_structured_output_shows_as_block_kit_and_an_embed(
    browser: Browser, tmp_path: Path
) -> None:
    process, url = start_playground(
        tmp_path, THREADCAST_RESPONSE_FORMAT="tests.playground.forecast:Forecast"
    )
    try:
        page, errors = open_page(browser, url)
        for pane in PANES:
            write(page, pane, "@threadcast the weather please")
        slack = page.locator('[data-pane="slack"] .thread-column .block.header')
        discord = page.locator('[data-pane="discord"] .thread-column .embed')
        slack.first.wait_for()
        discord.first.wait_for()
        fields = page.locator('[data-pane="slack"] .thread-column .fields').first.inner_text()
        embed = discord.first.inner_text()
        page.close()
    finally:
        stop_playground(process)
    for shown in (fields, embed):
        assert "Summary" in shown and "Celsius" in shown  # field names, readable
        assert '"summary"' not in shown  # not raw JSON
    assert not errors


# Counts what the API-call strips draw: each frame starts by clearing its canvas.
COUNT_FRAMES = """() => {
  window.framesDrawn = 0;
  const clear = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (...args) {
    window.framesDrawn += 1;
    return clear.apply(this, args);
  };
}"""


def _page_on_a_fake_clock(browser: Browser, url: str) -> Page:
    """The playground on a page whose clock is Playwright's fake one (a minute passes at
    once) and which counts the frames it draws (``window.framesDrawn``)."""
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.add_init_script(f"({COUNT_FRAMES})()")
    page.clock.install()
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    return page


def test_an_idle_page_stops_redrawing_its_api_call_strips(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer
) -> None:
    """A page left open costs no CPU once nothing has happened for a minute (redrawn ten
    times a second regardless, Chromium spent a tenth of a core on it); a new call draws again.
    The page's clock is Playwright's fake one, so a minute passes at once."""
    page = _page_on_a_fake_clock(browser, held_playground_url)

    def drawn() -> int:
        return int(page.evaluate("() => window.framesDrawn"))

    page.clock.run_for(2_000)
    assert drawn() > 0  # drawn while it starts
    page.clock.run_for(62_000)  # every call is older than the minute the counts cover
    idle_from = drawn()
    page.clock.run_for(10_000)
    assert drawn() == idle_from  # standing still: not one frame in ten seconds

    newest = """() => document.querySelector('[data-pane="slack"] .timeline-log li')?.innerText"""
    before = page.evaluate(newest)
    held_agent.enqueue(LyzrScript(tokens=split_words(QUICK_ANSWER)))
    write(page, "slack", "@threadcast hello")
    page.wait_for_function(f"(before) => ({newest})() !== before", arg=before)
    # The page's clock, 74 s ahead, back to the server's, whose time the call bears: ahead,
    # the call would be older than the strip's 30 seconds (nothing to draw).
    page.clock.set_system_time(time.time())
    page.clock.run_for(1_000)
    assert drawn() > idle_from  # a new call is drawn
    page.close()


def test_a_strip_whose_calls_left_it_stands_still_while_its_counts_go_on(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer
) -> None:
    """The strip shows 30 seconds: once the latest call is older, every frame would be the
    same bare grid (it was redrawn ten times a second for the next 30 s, until the counts'
    minute passed). The counts of the minute still change as the calls leave it. The page's
    clock is Playwright's fake one."""
    page = _page_on_a_fake_clock(browser, held_playground_url)
    held_agent.enqueue(LyzrScript(tokens=split_words(QUICK_ANSWER)))
    write(page, "slack", "@threadcast hello")
    thread = page.locator('[data-pane="slack"] .thread-column')
    thread.locator('.sk-feedback[data-value="down"]').wait_for()  # the reply's last call
    counts = page.locator('[data-pane="slack"] .counts')

    def drawn() -> int:
        return int(page.evaluate("() => window.framesDrawn"))

    page.clock.run_for(35_000)  # every call has left the strip, not the counts' minute
    still_from = drawn()
    in_the_minute = counts.inner_text()
    page.clock.run_for(10_000)
    assert drawn() == still_from  # not one frame in ten seconds
    page.clock.run_for(20_000)  # past the minute
    assert counts.inner_text() != in_the_minute, in_the_minute
    assert re.search(r"\b0 posts · 0 edits · 0 × 429", counts.inner_text())
    assert drawn() == still_from
    page.close()


# Counts, in the API-call strips, the reads of a computed style (each brings the page's style up
# to date) and the changes to their log rows and counts (each a layout and a paint).
COUNT_STRIP_WORK = """() => {
  window.stylesRead = 0;
  const read = window.getComputedStyle;
  window.getComputedStyle = function (...args) {
    window.stylesRead += 1;
    return read.apply(this, args);
  };
  window.stripChanges = [];
  const watch = () => {
    const observer = new MutationObserver((records) => {
      for (const r of records) window.stripChanges.push(r.target.className || r.target.data);
    });
    for (const node of document.querySelectorAll(".timeline-log, .timeline .counts")) {
      observer.observe(node, {subtree: true, childList: true, characterData: true});
    }
  };
  document.addEventListener("DOMContentLoaded", () => setTimeout(watch));
}"""


def test_a_strip_with_calls_in_it_redraws_only_what_moves(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer
) -> None:
    """While calls are in the strip its ticks move, and are drawn ten times a second; the
    colours are not read again for each frame (a computed style for each tick, which
    made Chromium bring the page's style up to date), and the log's rows and the counts,
    unchanged, are not set again (they were rebuilt once a second). The page's clock is
    Playwright's fake one."""
    page = _page_on_a_fake_clock(browser, held_playground_url)
    page.add_init_script(f"({COUNT_STRIP_WORK})()")
    page.reload()
    page.wait_for_selector("body[data-ready]")
    held_agent.enqueue(LyzrScript(tokens=split_words(QUICK_ANSWER)))
    write(page, "slack", "@threadcast hello")
    thread = page.locator('[data-pane="slack"] .thread-column')
    thread.locator('.sk-feedback[data-value="down"]').wait_for()  # the reply's last call
    page.clock.run_for(1_000)
    work = "() => [window.framesDrawn, window.stylesRead, window.stripChanges.length]"
    frames, styles, changes = page.evaluate(work)
    page.clock.run_for(10_000)  # the calls move along the strip, all in the counts' minute
    after = page.evaluate(work)
    assert after[0] - frames >= 50, after  # the ticks move: ~100 frames in ten seconds
    assert after[1:] == [styles, changes], page.evaluate("() => window.stripChanges")
    page.close()


# Counts the page's posts whose answer it has read and acted on: the count goes up in a task
# queued once the answer is read, after what the page does with it.
COUNT_POSTS_ANSWERED = """() => {
  window.postsAnswered = 0;
  const fetch = window.fetch;
  window.fetch = async (url, options) => {
    const response = await fetch(url, options);
    if (!String(url).endsWith("/post")) return response;
    const read = response.json.bind(response);
    response.json = async () => {
      const answer = await read();
      setTimeout(() => (window.postsAnswered += 1));
      return answer;
    };
    return response;
  };
}"""


@pytest.mark.parametrize("pane", PANES)
def test_an_answer_in_a_channel_left_meanwhile_waits_there(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer, pane: str
) -> None:
    """A person who posts and goes to another channel before the bot answers stays there
    (the answer's thread opened over the other channel, under its name); the thread is
    open in the first channel when they come back."""
    held_agent.enqueue(LyzrScript(tokens=split_words(QUICK_ANSWER)))
    page, errors = open_page(browser, held_playground_url)
    page.evaluate(RECORD_FEED, pane)
    page.evaluate(COUNT_POSTS_ANSWERED)
    unanswered: list[tuple[Route, APIResponse]] = []
    page.route(f"**/api/{pane}/post", lambda route: unanswered.append((route, route.fetch())))
    root = page.locator(f'[data-pane="{pane}"]')
    channels = root.get_by_role("navigation", name="Channels")

    write(page, pane, "@threadcast hello")
    wait_until(page, FED_FINISHED_REPLY)
    channels.get_by_role("button", name="random").click()
    [(route, answer)] = unanswered
    route.fulfill(response=answer)
    wait_until(page, "() => window.postsAnswered === 1")  # and the page acted on it
    assert not page.evaluate(READ_THREADS)[pane]["open"]
    assert root.locator(".channel-header").inner_text().endswith("random")

    channels.get_by_role("button", name="general").click()
    wait_until(
        page,
        f"() => ({READ_THREADS})()[{json.dumps(pane)}].text.includes({json.dumps(QUICK_ANSWER)})",
    )
    page.close()
    assert not errors
