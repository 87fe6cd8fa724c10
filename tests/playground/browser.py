"""The playground's page in a real browser, shared by the browser tests' two modules
(``test_browser.py``, ``test_browser_agent.py``): Chromium's headless shell (Debian's
``chromium-headless-shell`` package, driven by Playwright) against ``threadcast playground``
started as a user starts it, and what a test does in the page as a person would.

The shell is the build of Chromium that Playwright's and Puppeteer's headless modes launch by
default: the same Blink and V8 as the full browser, without its user interface. Measured on
these tests (two runs each, the whole machine's CPU): 19.5-20.2 core-seconds against
31.7-32.5 for Debian's full ``chromium`` with ``--headless``.

Two modules, each with its own browser and playground, so that xdist runs them side by side
(a module's tests run in order on one worker, one xdist group): the one module's ~68 s of
serial wall at ``-n 1`` are now ~22 s and ~23 s, for one more browser's start (well under a
second of CPU). Where a test needs a reply but not its pace, a scripted agent sends it whole:
the demo agent's greeting cost ~3 s of tokens per test.
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

if TYPE_CHECKING:  # imported where the browser starts: every xdist worker collects the tests
    from playwright.sync_api import Browser, JSHandle, Page

from tests import forked

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


def launch_browser() -> Iterator[Browser]:
    """A module's browser (its ``browser`` fixture), or the tests skipped where there is none."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing (.ci/run installs it)")
        pytest.skip("needs Chromium's headless shell: apt-get install -y chromium-headless-shell")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def playground(data_dir: Path, **env: str) -> Iterator[str]:
    """A module's playground process (its fixture), stopped as a user stops it."""
    process, url = start_playground(data_dir, **env)
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


def wait_for_reply(page: Page, end: str) -> None:
    """Until both panes' open thread shows a whole reply ending with ``end``."""
    wait_until(
        page,
        f"() => Object.values(({READ_THREADS})()).every("
        f"(s) => s.text.includes({json.dumps(end)}) && !s.streaming)",
    )


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
