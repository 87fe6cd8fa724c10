"""The README's picture of the playground, taken from the real thing: ``uv run python -m
tests.playground.screenshot docs/playground.png``.

It starts ``threadcast playground`` as a user does (the demo agent, an embedded Redis in a
temporary directory), opens the page at 1600×900 in Chromium's headless shell with
Playwright (as ``test_browser.py`` does), writes a short conversation in both panes — a
mention the bot answers in a thread, then a follow-up in that thread — and takes the
screenshot while both follow-ups stream. Where ``pngquant`` or ``optipng`` is installed
the file is made smaller (:func:`optimise`). Emoji show as the page's named fallbacks on a
machine without an emoji font (Debian: ``fonts-noto-color-emoji``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.playground.browser import (
    _FOREIGN_ENV,
    CHROMIUM,
    CHROMIUM_ARGS,
    PANES,
    READ_THREADS,
    REPO,
    WAIT_MS,
    write,
)

WIDTH, HEIGHT = 1600, 900
# What each pane is told: a mention first (the thread opens), then a follow-up in it.
OPENING = {"slack": "@threadcast show me some code", "discord": "@threadcast format"}
# The demo's greeting, caught while it streams. Discord's bot (without the Message Content
# intent, the default) sees only the follow-ups that mention it.
FOLLOW_UP = {"slack": "hello", "discord": "@threadcast hello"}
FEEDBACK = {
    "slack": '[data-pane="slack"] .thread-column .sk-feedback',
    "discord": '[data-pane="discord"] .thread-column .dc-button[data-action*="feedback"]',
}
REPLY_COMPOSER = {"slack": "Reply…", "discord": "Reply in thread…"}
# The follow-ups are caught streaming once each shows this many characters of its reply.
STREAMED_CHARS = 40
ATTEMPTS = 3  # a follow-up over before the other pane's began: send both again


def start_playground(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """``threadcast playground --no-browser --port 0`` on the demo agent; the process and
    the URL it prints first."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(_FOREIGN_ENV)}
    environ.update(THREADCAST_DATA_DIR=str(data_dir), THREADCAST_AGENT="demo")
    command = [sys.executable, "-m", "bots.cli", "playground", "--no-browser", "--port", "0"]
    process = subprocess.Popen(command, cwd=REPO, env=environ, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+/", line)
    if found is None:
        process.kill()
        raise SystemExit(f"the playground did not print its URL: {line!r}")
    return process, found.group(0)


def take(url: str, output: Path) -> None:
    """The conversation on both panes, then the screenshot mid-stream."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        page.set_default_timeout(WAIT_MS)
        page.goto(url)
        page.wait_for_selector("body[data-ready]")
        for pane in PANES:
            write(page, pane, OPENING[pane])
        # Each reply is over once its 👍 / 👎 show (they come with its final edit).
        for selector in FEEDBACK.values():
            page.wait_for_selector(selector)
        for attempt in range(1, ATTEMPTS + 1):
            before = page.evaluate(f"() => ({READ_THREADS})()")
            for pane in PANES:
                thread = page.locator(f'[data-pane="{pane}"] .thread-column')
                composer = thread.get_by_placeholder(REPLY_COMPOSER[pane])
                composer.fill(FOLLOW_UP[pane])
                composer.press("Enter")
            try:
                page.wait_for_function(
                    f"(before) => Object.entries(({READ_THREADS})()).every(([name, s]) => "
                    f"s.streaming && s.text.length >= before[name].text.length + {STREAMED_CHARS})",
                    arg=before,
                    timeout=10_000,
                )
                break
            except PlaywrightTimeout:
                if attempt == ATTEMPTS:
                    raise
                page.wait_for_function(  # both replies over: try again
                    f"() => Object.values(({READ_THREADS})()).every((s) => !s.streaming)"
                )
        page.evaluate("() => document.activeElement && document.activeElement.blur()")
        page.screenshot(path=output)
        browser.close()


def optimise(output: Path) -> None:
    """A third of the size where ``pngquant`` is installed (Debian: ``pngquant``): the page's
    flat colours lose nothing visible at 256 colours; else lossless, with ``optipng``."""
    if shutil.which("pngquant"):
        quantise = ["pngquant", "--quality", "70-95", "--skip-if-larger", "--strip", "--force"]
        # Exit status 98/99: the result would be larger or worse; the original stays.
        subprocess.run([*quantise, "--output", str(output), str(output)], check=False)
    if shutil.which("optipng"):
        subprocess.run(["optipng", "-quiet", "-o2", "-strip", "all", str(output)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="the PNG to write, e.g. docs/playground.png")
    output = parser.parse_args().output.resolve()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"needs {CHROMIUM}: apt-get install -y chromium-headless-shell")
    with tempfile.TemporaryDirectory(prefix="threadcast-screenshot-") as data_dir:
        process, url = start_playground(Path(data_dir))
        try:
            take(url, output)
        finally:
            process.send_signal(signal.SIGINT)  # as a user stops it: the embedded Redis too
            process.wait(timeout=30)
    optimise(output)
    print(f"{output}: {output.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
