"""A workspace whose admin limits how long a message may be edited: a reply that outlives
that window meets ``edit_window_closed`` on its ``chat.update`` (docs.slack.dev
reference/methods/chat.update, Errors) and must still show the rest as it streams, ending
with the whole reply.

The agent's stream is held while the test moves the simulator's clock past the window, so
no test waits the window out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bots.simulators.slack import SimConfig, SlackSimulator
from tests.bots.slack.conftest import StartBot, mention, reply_script, reply_shown
from tests.servers.lyzr_server import LyzrServer

WINDOW = 60.0
EARLY = "alpha bravo charlie delta echo"
LATE = " foxtrot golf hotel india"
LAST = " juliet"


def outlive_window(sim: SlackSimulator) -> None:
    """Move the simulator's clock past the edit window (the bot's own clock is untouched)."""
    loop = asyncio.get_running_loop()
    sim.clock = lambda: loop.time() + WINDOW + 1.0


@pytest.mark.parametrize("sim", [SimConfig(message_edit_window=WINDOW)], indirect=True)
async def test_a_reply_outliving_the_edit_window_goes_on_in_a_new_message(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    ws = sim.workspace
    past_window, before_last = asyncio.Event(), asyncio.Event()
    words = len((EARLY + LATE).split())
    holds = {len(EARLY.split()): past_window, words: before_last}
    script = reply_script(EARLY + LATE + LAST, delay=0.01, holds=holds)
    lyzr.enqueue(script)
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "take your time"))
    first = await reply_shown(sim, ws.general, turn.thread_ts)
    await sim.wait_for(lambda: "echo" in first.text)
    outlive_window(sim)
    past_window.set()

    # The text after the window shows while the agent still streams (it holds its last word).
    def late_shown() -> bool:
        return any("india" in m.text for m in sim.bot_replies(ws.general, turn.thread_ts))

    await sim.wait_for(late_shown)
    assert any(c.error == "edit_window_closed" for c in sim.calls("chat.update"))
    before_last.set()
    await sim.wait_for(lambda: not bot.bot.tasks)

    first_shown, last = (m.text for m in sim.bot_replies(ws.general, turn.thread_ts))
    assert first_shown.startswith(EARLY)  # as it was when the window closed: it cannot change
    assert last == EARLY + LATE + LAST  # the whole reply, in the message that went on


@pytest.mark.parametrize("sim", [SimConfig(message_edit_window=WINDOW)], indirect=True)
async def test_a_thinking_placeholder_older_than_the_edit_window_is_not_reused(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The agent's first word comes after the window closed on the "Thinking…"
    placeholder: the reply is posted anew, whole, and the placeholder is removed."""
    ws = sim.workspace
    script = reply_script(EARLY, delay=0.01, hold_after=0)
    lyzr.enqueue(script)
    bot = await start_bot(thinking="placeholder")
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "slow start"))
    await reply_shown(sim, ws.general, turn.thread_ts)  # the placeholder
    outlive_window(sim)
    script.hold.set()
    await sim.wait_for(lambda: not bot.bot.tasks)

    assert [m.text for m in sim.bot_replies(ws.general, turn.thread_ts)] == [EARLY]


MORE = " kilo lima"


@pytest.mark.parametrize("sim", [SimConfig(message_edit_window=WINDOW)], indirect=True)
async def test_a_reply_outliving_two_edit_windows_goes_on_in_a_third_message(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """The window closing on the message the reply went on in, once that one was edited in
    time, is the window closing again (not editing switched off): the reply goes on in
    another new message, and does not freeze until its end."""
    ws = sim.workspace
    loop = asyncio.get_running_loop()
    steps = [asyncio.Event() for _ in range(4)]
    first_window, in_second, second_window, before_end = steps
    early = len(EARLY.split())
    holds = dict(zip((early, early + 2, early + 4, early + 5), steps, strict=True))
    lyzr.enqueue(reply_script(EARLY + LATE + LAST + MORE, delay=0.01, holds=holds))
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "take your time"))

    def shown(word: str) -> Callable[[], bool]:
        return lambda: any(word in m.text for m in sim.bot_replies(ws.general, turn.thread_ts))

    await sim.wait_for(shown("echo"))
    sim.clock = lambda: loop.time() + WINDOW + 1.0  # the first message's window closes
    first_window.set()
    await sim.wait_for(shown("golf"))  # in the second message
    in_second.set()
    await sim.wait_for(shown("india"))  # an edit of the second message, in its window
    sim.clock = lambda: loop.time() + 2 * (WINDOW + 1.0)  # and now its window closes
    second_window.set()
    await sim.wait_for(shown("juliet"))  # while the agent still streams: not frozen
    before_end.set()
    await sim.wait_for(lambda: not bot.bot.tasks)

    *_, last = (m.text for m in sim.bot_replies(ws.general, turn.thread_ts))
    assert len(sim.bot_replies(ws.general, turn.thread_ts)) == 3
    assert last == EARLY + LATE + LAST + MORE


def tried_to_show(sim: SlackSimulator, word: str) -> Callable[[], bool]:
    """Whether the bot has sent ``word`` to Slack, in a post or an edit (refused or not)."""
    return lambda: any(
        word in str(c.params.get("text"))
        for c in (*sim.calls("chat.update"), *sim.calls("chat.postMessage"))
    )


@pytest.mark.parametrize("sim", [SimConfig(message_edit_window=0)], indirect=True)
async def test_a_workspace_that_allows_no_edits_gets_the_reply_without_a_message_per_edit(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    """Editing switched off: the reply goes on in a new message once; when that one cannot
    be edited either, its edits fail as any refused edit and the whole reply is posted at
    its end. Never a new message per edit."""
    ws = sim.workspace
    steps = [asyncio.Event() for _ in range(3)]
    words = (EARLY + LATE + LAST).split()
    ends = (2, 4, 6)  # the agent holds after its 2nd, 4th and 6th words
    holds = dict(zip(ends, steps, strict=True))
    lyzr.enqueue(reply_script(EARLY + LATE + LAST, delay=0.01, holds=holds))
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "no edits here"))
    for end, step in zip(ends, steps, strict=True):
        # Each step's last word sent to Slack (an edit, refused) before the next is streamed.
        await sim.wait_for(tried_to_show(sim, words[end - 1]))
        step.set()
    await sim.wait_for(lambda: not bot.bot.tasks)

    shown = [m.text for m in sim.bot_replies(ws.general, turn.thread_ts)]
    assert shown[-1] == " ".join(words)
    assert len(shown) <= 3  # the first message, the one it went on in, the whole reply
    assert all(c.error == "edit_window_closed" for c in sim.calls("chat.update"))
