"""The page in a real browser: Chromium's headless shell (Debian's ``chromium-headless-shell``
package, driven by Playwright) against ``threadcast playground`` started as a user starts it.

The shell is the build of Chromium that Playwright's and Puppeteer's headless modes launch by
default: the same Blink and V8 as the full browser, without its user interface. Measured on
this module (two runs each, the whole machine's CPU): 19.5-20.2 core-seconds against
31.7-32.5 for Debian's full ``chromium`` with ``--headless``.

A person writes in each pane's composer, the thread the bot answers in opens by itself
(even when the whole reply beats the page's own post), the reply grows by edits at the
platforms' pace, Stop ends a reply with its partial text, and structured output shows as
Block Kit / an embed. The demo agent answers, except where the test needs an agent that
waits for it: then a local server speaking Lyzr's wire format (``tests/servers``).
With ``THREADCAST_SCREENSHOTS=1``, screenshots of three moments of a reply are saved under a
temporary directory (the path is printed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pytest

if TYPE_CHECKING:  # imported where the browser starts: every xdist worker collects this module
    from playwright.sync_api import APIResponse, Browser, JSHandle, Locator, Page, Route

from bots.playground import discord_pane, slack_pane
from core.agents.demo_script import compose_reply
from core.texts import REASON_HINT, REASON_LABEL, REASON_TITLE
from tests import forked
from tests.playground.helpers import HELLO_END, LONG_END
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.waiting import eventually

CHROMIUM = shutil.which("chromium-headless-shell") or "/usr/bin/chromium-headless-shell"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PANES = ("slack", "discord")
REPO = Path(__file__).resolve().parents[2]
WAIT_MS = 20_000
T = TypeVar("T")
# Variables that would point the playground elsewhere than its defaults.
_FOREIGN_ENV = ("LYZR_", "OPENAI_", "SLACK_", "DISCORD_", "REDIS_URL", "THREADCAST_", "PORT")

# What each pane's thread shows: is it open, the text of the bot's messages in it, whether
# one still streams (its Stop button shows). Read in the page, as a person would see it.
READ_THREADS = """() => Object.fromEntries(PANES.map((name) => {
  const thread = document.querySelector(`[data-pane="${name}"] .thread-column`);
  const replies = [...thread.querySelectorAll('.msg[data-bot="true"] .msg-body')];
  return [name, {
    open: !thread.hidden,
    text: replies.map((node) => node.innerText).join("\\n"),
    streaming: Boolean(thread.querySelector('.msg[data-streaming="true"]')),
  }];
}))""".replace("PANES", json.dumps(list(PANES)))


# Every state the page passes through, not only those a poll happens to sample: a
# MutationObserver runs after each change to the DOM, so a starved browser that skips
# animation frames still records each length a streaming reply showed.
WATCH_LENGTHS = """() => {
  const read = (READ_THREADS);
  window.streamedLengths = Object.fromEntries(PANES.map((name) => [name, []]));
  new MutationObserver(() => {
    for (const [name, shown] of Object.entries(read())) {
      const seen = window.streamedLengths[name];
      if (shown.streaming && !seen.includes(shown.text.length)) seen.push(shown.text.length);
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true,
                             attributes: true});
}""".replace("READ_THREADS", READ_THREADS).replace("PANES", json.dumps(list(PANES)))


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` on this module's event loop, a thread of its own: the playground's
    process is the fork server's (:mod:`tests.forked`), an asyncio process, while these
    tests drive the browser with Playwright's synchronous API."""
    global _loop
    if _loop is None:
        _loop = asyncio.new_event_loop()
        threading.Thread(target=_loop.run_forever, name="playground-loop", daemon=True).start()
    return asyncio.run_coroutine_threadsafe(coroutine, _loop).result()


_loop: asyncio.AbstractEventLoop | None = None


def start_playground(data_dir: Path, **env: str) -> tuple[asyncio.subprocess.Process, str]:
    """``threadcast playground --port 0 --no-browser``; the process and its printed URL.
    Forked from the run's fork server, which imported the bot stack already (as the CLI
    tests' processes are), instead of a fresh interpreter importing it again."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV)}
    environ.update(THREADCAST_DATA_DIR=str(data_dir), **env)
    command = [sys.executable, "-m", "bots.cli", "playground", "--no-browser", "--port", "0"]
    process = _run(
        forked.start(
            *command,
            env=environ,
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    )
    assert process.stdout is not None
    line = _run(_first_line(process.stdout))
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if found is None:
        with contextlib.suppress(ProcessLookupError):  # it may have ended already
            process.kill()
        _, errors = _run(asyncio.wait_for(process.communicate(), timeout=10))
        pytest.fail(f"the playground did not print its URL: {line!r} {errors.decode()}")
    return process, found.group(0)


async def _first_line(stream: asyncio.StreamReader) -> str:
    """The first line ``stream`` gives within 60 s, or ``""``."""
    try:
        return (await asyncio.wait_for(stream.readline(), timeout=60)).decode()
    except TimeoutError:
        return ""


def stop_playground(process: asyncio.subprocess.Process) -> None:
    """Ctrl-C, as a user stops it: a clean exit."""
    process.send_signal(signal.SIGINT)
    _, stderr = _run(asyncio.wait_for(process.communicate(), timeout=30))
    errors = stderr.decode()
    assert process.returncode == 0, errors
    assert "Traceback" not in errors, errors


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs it)")
        pytest.skip("needs Chromium's headless shell: apt-get install -y chromium-headless-shell")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def playground_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, url = start_playground(tmp_path_factory.mktemp("playground"))
    yield url
    stop_playground(process)


def open_page(browser: Browser, url: str, width: int = 1600) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(url)
    page.wait_for_selector("body[data-ready]")
    return page, errors


@pytest.fixture
def page(browser: Browser, playground_url: str) -> Iterator[Page]:
    opened, errors = open_page(browser, playground_url)
    yield opened
    opened.close()
    assert not errors


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """A folder for pictures taken for a person to look at, with ``THREADCAST_SCREENSHOTS=1``
    only: no test reads them, and Chromium spends CPU on each."""
    if not os.environ.get("THREADCAST_SCREENSHOTS"):
        return None
    folder = tmp_path_factory.mktemp("playground-screenshots")
    print(f"\nscreenshots of the playground: {folder}")
    return folder


def screenshot(page: Page, folder: Path | None, name: str) -> None:
    """Save what ``page`` shows as ``name`` in ``folder``, if pictures were asked for."""
    if folder is not None and not (folder / name).exists():
        page.screenshot(path=folder / name)


def write(page: Page, pane: str, text: str) -> None:
    """Type in the pane's message composer and press Enter, as a person does."""
    composer = page.locator(f'[data-pane="{pane}"]').get_by_placeholder(re.compile("Message"))
    composer.fill(text)
    composer.press("Enter")


# How often a wait checks the page. Playwright's default checks at every animation frame,
# and asking for a frame each time makes Chromium produce one (about 60 a second, for the
# whole wait): a wait in a test cost as much CPU as a page animating.
POLL_MS = 50


def wait_until(page: Page, expression: str, arg: Any = None) -> JSHandle:
    """``page.wait_for_function`` checked every :data:`POLL_MS` rather than each frame."""
    return page.wait_for_function(expression, arg=arg, polling=POLL_MS)


def next_state(page: Page, previous: dict[str, Any]) -> dict[str, Any]:
    """The threads as soon as what they show differs from ``previous``."""
    changed = wait_until(
        page,
        f"(previous) => {{ const now = ({READ_THREADS})(); "
        "return JSON.stringify(now) !== previous ? now : null; }",
        arg=json.dumps(previous),
    )
    state: dict[str, Any] = changed.json_value()
    return state


# The 👍 / 👎 buttons at the end of a finished reply, as the page shows them.
FEEDBACK_ROW = r"(\s|👍|👎|thumbs up|thumbs down)+$"


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


# Emoji a machine without an emoji font draws as empty boxes.
EMOJI = re.compile("[\U0001f000-\U0001faff\u23e9-\u23fa]")


def has_emoji_font() -> bool:
    """Whether a font here has 👍 (the page then draws emoji as they are)."""
    found = subprocess.run(["fc-list", ":charset=1f44d"], capture_output=True, text=True)
    return bool(found.stdout.strip())


# 👎 as each app draws it: Slack's feedback button (its value), Discord's button.
THUMBS_DOWN = {
    "slack": '.sk-feedback[data-value="down"]',
    "discord": '.dc-button[data-action="threadcast:feedback:down"]',
}
PRIVATE_NOTE = {"slack": "Only visible to you", "discord": "Only you can see this"}


def test_the_agents_markdown_is_rendered_and_thumbs_down_asks_why(page: Page) -> None:
    """Bold shows as bold, not as markup. 👎 opens the bot's own "why?" dialog (the page
    once showed nothing: Discord's modal was opened in the simulator only, Slack's buttons
    could not be pressed); the answer goes to the bot, whose private thanks is marked as
    the app marks it."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_until(
        page,
        f"() => Object.values(({READ_THREADS})()).every("
        f"(s) => s.text.includes({json.dumps(HELLO_END)}) && !s.streaming)",
    )
    for pane in PANES:
        bold = page.locator(f'[data-pane="{pane}"] .thread-column .msg[data-bot] strong')
        assert "threadcast demo agent" in bold.all_inner_texts()

    replies = {p: page.locator(f'[data-pane="{p}"] .replies-divider').inner_text() for p in PANES}
    for pane in PANES:
        root = page.locator(f'[data-pane="{pane}"]')
        root.locator(f".thread-column {THUMBS_DOWN[pane]}").last.click()
        dialog = root.get_by_role("dialog", name=REASON_TITLE)
        reason = dialog.get_by_placeholder(REASON_HINT)
        assert REASON_LABEL in (dialog.text_content() or "")  # Discord shows it in capitals
        reason.fill("Too short.")
        dialog.get_by_role("button", name=re.compile("^(Send|Submit)$")).click()
        thanks = root.locator(".thread-column .msg.ephemeral", has_text="reason was recorded")
        thanks.wait_for()
        assert PRIVATE_NOTE[pane] in thanks.inner_text()
        dialog.wait_for(state="detached")
        # Not a reply of the thread (its count is unchanged), and nobody else sees it.
        assert root.locator(".replies-divider").inner_text() == replies[pane]
        root.get_by_label("Posting as").select_option(index=1)  # bob
        thanks.wait_for(state="detached")
        root.get_by_label("Posting as").select_option(index=0)  # alice
        thanks.wait_for()


def wait_for_hello(page: Page) -> None:
    """Until both panes' open thread shows the demo's whole greeting."""
    wait_until(
        page,
        f"() => Object.values(({READ_THREADS})()).every("
        f"(s) => s.text.includes({json.dumps(HELLO_END)}) && !s.streaming)",
    )


def test_a_dialog_shows_only_to_the_person_it_was_opened_for(page: Page) -> None:
    """A modal opens in the app of the person who clicked, nobody else's (the page once drew
    the oldest dialog for whoever was selected in "Posting as"): switching person shows that
    person's own dialog, and what was typed in one stays while someone else is selected."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_hello(page)
    for pane in PANES:
        root = page.locator(f'[data-pane="{pane}"]')
        people = root.get_by_label("Posting as")
        thumbs_down = root.locator(f".thread-column {THUMBS_DOWN[pane]}").last
        dialog = root.get_by_role("dialog", name=REASON_TITLE)
        reason = dialog.get_by_placeholder(REASON_HINT)
        send = dialog.get_by_role("button", name=re.compile("^(Send|Submit)$"))
        thumbs_down.click()  # alice's
        reason.fill("Alice's reason.")

        people.click(trial=True)  # within reach, above the dialog
        people.select_option(index=1)  # bob
        dialog.wait_for(state="detached")  # not bob's: his app shows nothing
        thumbs_down.click()
        assert reason.input_value() == ""  # bob's own
        reason.fill("Bob's reason.")
        send.click()
        dialog.wait_for(state="detached")

        people.select_option(index=0)  # alice
        assert reason.input_value() == "Alice's reason."  # still open, as she left it
        send.click()
        dialog.wait_for(state="detached")
        thanks = root.locator(".thread-column .msg.ephemeral", has_text="reason was recorded")
        thanks.wait_for()  # hers, only (bob's thanks is his)


def reload(page: Page) -> None:
    page.reload()
    page.wait_for_selector("body[data-ready]")


def test_a_reload_shows_the_thread_that_was_open(page: Page) -> None:
    """The apps keep the open channel and thread in their address (Slack's
    /client/T…/C…/thread/…, Discord's /channels/…/thread): a reload shows the same thread
    (it once came back with every thread closed)."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_hello(page)
    titles = page.locator(".thread-title").all_inner_texts()

    reload(page)

    for pane, shown in page.evaluate(READ_THREADS).items():
        assert shown["open"] and HELLO_END in shown["text"], pane
    assert page.locator(".thread-title").all_inner_texts() == titles  # the same threads


def test_a_private_reply_is_gone_after_a_reload_as_in_the_apps(page: Page) -> None:
    """Private replies ("Only visible to you", "Only you can see this") live in the app that got
    them; a reload drops them (Slack: not kept across reloads; Discord: gone when the app
    restarts). They were kept, as if stored. One that comes after the reload shows."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_hello(page)

    def give_a_reason(pane: str) -> None:
        root = page.locator(f'[data-pane="{pane}"]')
        root.locator(f".thread-column {THUMBS_DOWN[pane]}").last.click()
        dialog = root.get_by_role("dialog", name=REASON_TITLE)
        dialog.get_by_placeholder(REASON_HINT).fill("Not what I asked.")
        dialog.get_by_role("button", name=re.compile("^(Send|Submit)$")).click()

    def thanks(pane: str) -> Locator:
        notes = f'[data-pane="{pane}"] .thread-column .msg.ephemeral'
        return page.locator(notes, has_text="reason was recorded")

    for pane in PANES:
        give_a_reason(pane)
        thanks(pane).wait_for()

    reload(page)

    for pane in PANES:
        root = page.locator(f'[data-pane="{pane}"]')
        assert HELLO_END in root.locator(".thread-column").inner_text()  # the thread is back
        assert root.locator(".msg.ephemeral").count() == 0  # its private replies are not
        give_a_reason(pane)
        thanks(pane).wait_for()  # a new one shows


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
    browser: Browser, playground_url: str, pane: str
) -> None:
    """Past Slack's 40,000 characters (Discord's 2,000) the page sends nothing; its reason
    shows above everything (it was drawn under the "Posting as" picker) and the text stays
    to shorten. The page refuses it itself, as the apps do (a request refused with 400 put
    an error in the console)."""
    page, errors = open_page(browser, playground_url)
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


async def _release(hold: asyncio.Event) -> None:
    hold.set()


@pytest.fixture(scope="module")
def held_playground_url(
    tmp_path_factory: pytest.TempPathFactory, held_agent: LyzrServer
) -> Iterator[str]:
    process, url = start_playground(
        tmp_path_factory.mktemp("held-playground"),
        LYZR_API_KEY=held_agent.api_key,
        LYZR_AGENT_ID="held-agent",
        LYZR_API_BASE=held_agent.url,
    )
    yield url
    stop_playground(process)


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


# Every update the feed sends about a pane's messages, kept by a second subscriber in the
# page: what reached the page, whatever the page did with it.
RECORD_FEED = """(pane) => {
  window.fedMessages = [];
  new EventSource("/events").onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (data.type !== "update" || data.platform !== pane) return;
    window.fedMessages.push(...(data.upsert || []));
  };
}"""
# The bot's finished reply came: 👍 / 👎 on it (Slack's feedback block's action id,
# Discord's buttons' custom ids).
FED_FINISHED_REPLY = """() => window.fedMessages.some(
  (m) => m.bot && /threadcast[_:]feedback/.test(JSON.stringify(m)))"""


@pytest.mark.parametrize("pane", PANES)
def test_a_reply_that_beats_the_posts_answer_still_opens_its_thread(
    browser: Browser, held_playground_url: str, held_agent: LyzrServer, pane: str
) -> None:
    """A quick bot's whole reply can reach the page before the page's own post is
    answered; the thread opens all the same (it once waited for an update that never came)."""
    held_agent.enqueue(LyzrScript(tokens=split_words("A quick and complete answer.")))
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
        "return s.open && s.text.includes('A quick and complete answer.'); }",
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


def test_an_idle_page_stops_redrawing_its_api_call_strips(
    browser: Browser, playground_url: str
) -> None:
    """A page left open costs no CPU once nothing has happened for a minute (redrawn ten
    times a second regardless, Chromium spent a tenth of a core on it); a new call draws again.
    The page's clock is Playwright's fake one, so a minute passes at once."""
    page = browser.new_page(viewport={"width": 1600, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.add_init_script(f"({COUNT_FRAMES})()")
    page.clock.install()
    page.goto(playground_url)
    page.wait_for_selector("body[data-ready]")

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
    write(page, "slack", "@threadcast hello")
    page.wait_for_function(f"(before) => ({newest})() !== before", arg=before)
    page.clock.run_for(1_000)
    assert drawn() > idle_from  # a new call is drawn
    page.close()


# The thread's summary under its first message in the channel, which opens it.
THREAD_SUMMARY = ".channel-column .thread-summary, .channel-column .thread-chip"


def test_with_a_thread_open_the_channels_and_the_person_picker_stay_in_reach(
    browser: Browser, playground_url: str
) -> None:
    """Slack and Discord keep their sidebar beside an open thread. Hidden then, at 1024 px a
    thread (or a dialog) left no way to switch person, and at any width no way to switch
    channel. Each channel keeps the thread left open in it; where the thread takes the
    channel's place, the channel's own name in the sidebar brings the channel back.
    One page, one reply, at each width in turn (the thread opened again where needed)."""
    page, errors = open_page(browser, playground_url)
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_hello(page)
    for width in (1024, 1600):
        page.set_viewport_size({"width": width, "height": 900})
        for pane in PANES:
            root = page.locator(f'[data-pane="{pane}"]')
            if not page.evaluate(READ_THREADS)[pane]["open"]:  # closed at the last width
                root.locator(THREAD_SUMMARY).last.click()
            people = root.get_by_label("Posting as")
            dialog = root.get_by_role("dialog", name=REASON_TITLE)
            root.locator(f".thread-column {THUMBS_DOWN[pane]}").last.click()
            dialog.wait_for()
            people.select_option(index=1)  # bob: alice's dialog is not his
            dialog.wait_for(state="detached")
            people.select_option(index=0)
            dialog.locator(".dialog-close").click()  # Slack's "Skip", Discord's "Cancel"
            dialog.wait_for(state="detached")

            title = root.locator(".thread-title").inner_text()
            channels = root.get_by_role("navigation", name="Channels")
            channels.get_by_role("button", name="random").click()
            assert root.locator(".channel-header").inner_text().endswith("random"), width
            assert not page.evaluate(READ_THREADS)[pane]["open"], width  # none in #random
            channels.get_by_role("button", name="general").click()
            assert page.evaluate(READ_THREADS)[pane]["open"], width  # #general's, as left
            assert root.locator(".thread-title").inner_text() == title, width
            composer = root.get_by_placeholder("Message #general")
            if not composer.is_visible():  # the thread took the channel's place: it comes back
                channels.get_by_role("button", name="general").click()
                composer.wait_for()
                assert not page.evaluate(READ_THREADS)[pane]["open"], width
    page.close()
    assert not errors


def test_emoji_buttons_are_named_and_readable_without_an_emoji_font(page: Page) -> None:
    """The apps draw 👍 / 👎 as images of their own; the page draws them as text, which a
    machine without an emoji font showed as empty boxes. Each button is named, and where no
    font has the emoji its name shows in its place (what the bots send is unchanged)."""
    emoji_font = has_emoji_font()
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_hello(page)
    names = {"slack": ("Good answer", "Bad answer"), "discord": ("thumbs up", "thumbs down")}
    for pane, (up, down) in names.items():
        thread = page.locator(f'[data-pane="{pane}"] .thread-column')
        for name, shown in ((up, "thumbs up"), (down, "thumbs down")):
            button = thread.get_by_role("button", name=name, exact=True).last
            if not emoji_font:
                assert button.inner_text().strip() == shown
    # In a message's text, and before the note on a private reply (the bot's /help), too.
    write(page, "discord", "/help")
    note = page.locator('[data-pane="discord"] .msg.ephemeral .ephemeral-note')
    note.wait_for()
    if not emoji_font:
        assert (
            "Rate a reply with thumbs up / thumbs down"
            in page.locator('[data-pane="discord"] .msg.ephemeral').inner_text()
        )
        before = "(node) => getComputedStyle(node, '::before').content"
        assert note.evaluate(before) == "none"  # no empty box


# What is cut at the right or broken over lines among ``selector``'s elements: one whose
# text is wider than its box (cut, or an ellipsis), one past its pane's right edge, or a
# word split over two lines (its text's lines outnumber its words').
CUT_OR_BROKEN = """(selector) => [...document.querySelectorAll(selector)].filter((node) => {
  const pane = node.closest(".pane").getBoundingClientRect();
  const box = node.getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(node);
  const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  const words = node.innerText.trim().split(/\\s+/).length;
  return node.scrollWidth > node.clientWidth + 1 || box.right > pane.right + 1 || lines > words;
}).map((node) => node.innerText)"""


def test_names_files_and_counts_are_whole_beside_an_open_thread(
    browser: Browser, playground_url: str
) -> None:
    """With a thread open in a narrow column (1280 px then, 1500 px now that the sidebar
    stays), Discord broke the bot's name and badge mid-word ("threadc/ast", "AP/P"), Slack's
    file card ran past the pane's edge; the timeline's counts of the last minute ended in an
    ellipsis. One page, one reply, looked at each width in turn."""
    page, errors = open_page(browser, playground_url, 1024)
    for pane in PANES:
        write(page, pane, "@threadcast file")
    for pane in PANES:
        page.locator(f'[data-pane="{pane}"] .thread-column .file-card').wait_for()
    wait = ".thread-column .msg-head > *, .thread-column .file-card, .counts"
    cut = {}
    for width in (1024, 1280, 1500):
        page.set_viewport_size({"width": width, "height": 900})
        cut[width] = page.evaluate(CUT_OR_BROKEN, wait)
    page.close()
    assert cut == {1024: [], 1280: [], 1500: []}
    assert not errors


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
    browser: Browser, playground_url: str, pane: str
) -> None:
    """A person who posts and goes to another channel before the bot answers stays there
    (the answer's thread opened over the other channel, under its name); the thread is
    open in the first channel when they come back."""
    page, errors = open_page(browser, playground_url)
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
        page, f"() => ({READ_THREADS})()[{json.dumps(pane)}].text.includes({json.dumps(HELLO_END)})"
    )
    page.close()
    assert not errors
