"""The page in a real browser (:mod:`tests.playground.browser`): what a person does with a
reply once it is there (a scripted agent's, sent whole at once; the demo agent's file). Its
markdown shows as markup, 👎 opens the bot's own dialog for the person who clicked, a reload
keeps the open thread (and drops private replies, as the apps do), the channels and the
person picker stay in reach beside a thread, names and counts are whole beside it, and emoji
buttons are readable without an emoji font. The replies as they arrive, and an agent that
waits, are ``test_browser_agent.py``'s.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported where the browser starts: every xdist worker collects this module
    from playwright.sync_api import Browser, Locator, Page

from core.texts import REASON_HINT, REASON_LABEL, REASON_TITLE
from tests.playground.browser import (
    PANES,
    READ_THREADS,
    THUMBS_DOWN,
    _run,
    has_emoji_font,
    launch_browser,
    open_page,
    playground,
    start_playground,
    stop_playground,
    wait_for_reply,
    write,
)
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch_browser()


# The agent's every reply: whole at once, with markdown. The demo agent's greeting took ~3 s
# of tokens per test, a wait that none of these tests is about.
ANSWER = "Here is **the scripted agent** answering, whole at once."
ANSWER_BOLD = "the scripted agent"
ANSWER_END = "answering, whole at once."


@pytest.fixture(scope="module")
def playground_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The playground, its agent a local server speaking Lyzr's wire format (``tests/servers``)
    that gives :data:`ANSWER` to every message."""
    agent = LyzrServer()
    agent.default = LyzrScript(tokens=split_words(ANSWER))
    _run(agent.start())
    yield from playground(
        tmp_path_factory.mktemp("playground"),
        LYZR_API_KEY=agent.api_key,
        LYZR_AGENT_ID="scripted-agent",
        LYZR_API_BASE=agent.url,
    )
    _run(agent.stop())


@pytest.fixture
def page(browser: Browser, playground_url: str) -> Iterator[Page]:
    opened, errors = open_page(browser, playground_url)
    yield opened
    opened.close()
    assert not errors


PRIVATE_NOTE = {"slack": "Only visible to you", "discord": "Only you can see this"}


def test_the_agents_markdown_is_rendered_and_thumbs_down_asks_why(page: Page) -> None:
    """Bold shows as bold, not as markup. 👎 opens the bot's own "why?" dialog (the page
    once showed nothing: Discord's modal was opened in the simulator only, Slack's buttons
    could not be pressed); the answer goes to the bot, whose private thanks is marked as
    the app marks it."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_reply(page, ANSWER_END)
    for pane in PANES:
        bold = page.locator(f'[data-pane="{pane}"] .thread-column .msg[data-bot] strong')
        assert ANSWER_BOLD in bold.all_inner_texts()

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


def test_a_dialog_shows_only_to_the_person_it_was_opened_for(page: Page) -> None:
    """A modal opens in the app of the person who clicked, nobody else's (the page once drew
    the oldest dialog for whoever was selected in "Posting as"): switching person shows that
    person's own dialog, and what was typed in one stays while someone else is selected."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_reply(page, ANSWER_END)
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
    wait_for_reply(page, ANSWER_END)
    titles = page.locator(".thread-title").all_inner_texts()

    reload(page)

    for pane, shown in page.evaluate(READ_THREADS).items():
        assert shown["open"] and ANSWER_END in shown["text"], pane
    assert page.locator(".thread-title").all_inner_texts() == titles  # the same threads


def test_a_private_reply_is_gone_after_a_reload_as_in_the_apps(page: Page) -> None:
    """Private replies ("Only visible to you", "Only you can see this") live in the app that got
    them; a reload drops them (Slack: not kept across reloads; Discord: gone when the app
    restarts). They were kept, as if stored. One that comes after the reload shows."""
    for pane in PANES:
        write(page, pane, "@threadcast hello")
    wait_for_reply(page, ANSWER_END)

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
        assert ANSWER_END in root.locator(".thread-column").inner_text()  # the thread is back
        assert root.locator(".msg.ephemeral").count() == 0  # its private replies are not
        give_a_reason(pane)
        thanks(pane).wait_for()  # a new one shows


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
    wait_for_reply(page, ANSWER_END)
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
    wait_for_reply(page, ANSWER_END)
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


# What is cut or broken over lines among ``selector``'s elements: one whose text is wider or
# taller than its box (cut, an ellipsis, lines past a clamp), one past its pane's right edge, or a
# word split over two lines (its text's lines outnumber its words').
CUT_OR_BROKEN = """(selector) => [...document.querySelectorAll(selector)].filter((node) => {
  const pane = node.closest(".pane").getBoundingClientRect();
  const box = node.getBoundingClientRect();
  const range = document.createRange();
  range.selectNodeContents(node);
  const lines = new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
  const words = node.innerText.trim().split(/\\s+/).length;
  return node.scrollWidth > node.clientWidth + 1 || node.scrollHeight > node.clientHeight + 1
    || box.right > pane.right + 1 || lines > words;
}).map((node) => node.innerText)"""


# Common windows' widths, and 1500 px: the narrowest thread column beside the channel.
WIDTHS = (1024, 1280, 1366, 1500, 1600, 1920)


def test_names_files_and_counts_are_whole_beside_an_open_thread(
    browser: Browser, tmp_path: Path
) -> None:
    """With a thread open in a narrow column (1280 px then, 1500 px now that the sidebar
    stays), Discord broke the bot's name and badge mid-word ("threadc/ast", "AP/P"), Slack's
    file card ran past the pane's edge; the timeline's counts of the last minute ended in an
    ellipsis; at every width up to 1920 px the sidebar cut the workspace's and the server's
    name ("Acme (si…"). One page, one reply, looked at each width in turn."""
    process, url = start_playground(tmp_path)  # the demo agent, whose reply to "file" has one
    try:
        page, errors = open_page(browser, url, 1024)
        for pane in PANES:
            write(page, pane, "@threadcast file")
        for pane in PANES:
            page.locator(f'[data-pane="{pane}"] .thread-column .file-card').wait_for()
        wait = ".thread-column .msg-head > *, .thread-column .file-card, .counts, .team-name > *"
        cut = {}
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            cut[width] = page.evaluate(CUT_OR_BROKEN, wait)
        page.close()
    finally:
        stop_playground(process)
    assert cut == {width: [] for width in WIDTHS}
    assert not errors
