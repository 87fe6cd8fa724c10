"""``threadcast chat`` / ``ask`` in a real terminal: Ctrl-C, hang-up, and what the screen
shows (a pseudo-terminal and a terminal emulator, see :mod:`tests.terminal`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.bots.console.helpers import (
    console_env,
    embedded_server_answers,
    embedded_server_pid,
)
from tests.processes import process_gone, wait_until
from tests.servers.lyzr_server import LyzrScript, LyzrServer, split_words
from tests.terminal import Terminal

STORY = " ".join(f"w{i}" for i in range(400))


SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"  # rich's "dots" spinner, the console's thinking status


def slow(text: str, *, delay: float = 0.03) -> LyzrScript:
    return LyzrScript(tokens=split_words(text), delay=delay)


def story() -> LyzrScript:
    """:data:`STORY`, paced, its last word held: it streams until the test interrupts it
    (it used to end by itself after 12 s, and the console, a process of its own, had to
    show "w20" and take the key before that on a loaded machine)."""
    script = slow(STORY)
    script.hold_after = len(script.tokens or ()) - 1
    return script


def spinner_turned(term: Terminal, *, times: int) -> Callable[[], bool]:
    """A condition: the thinking status has shown ``times`` different spinner frames."""
    frames: set[str] = set()

    def turned() -> bool:
        status = next((line for line in term.lines() if "Thinking" in line), "")
        frames.update(char for char in status if char in SPINNER)
        return len(frames) >= times

    return turned


async def test_ctrl_c_stops_only_the_reply_and_the_next_message_is_answered(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    lyzr.enqueue(story())
    async with Terminal(["chat"], console_env(tmp_path, lyzr)) as term:
        await term.expect("you>")
        term.type("tell me a story")
        await term.expect("w20")
        term.ctrl_c()
        await term.expect("Stopped")
        await term.expect(lambda: term.last_line().startswith("you>"))
        term.type("hello again")
        answered = "You said: hello again"
        await term.expect(lambda: answered in term.text() or "unavailable" in term.text())
        assert answered in term.text(), term.text()
        assert "w399" not in term.text()  # the story did stop
        term.ctrl_d()
        assert await term.exit_status() == 0


async def test_ask_interrupted_with_ctrl_c_keeps_the_partial_reply_and_exits_130(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    lyzr.enqueue(story())
    async with Terminal(["ask", "tell me a story"], console_env(tmp_path, lyzr)) as term:
        await term.expect("w20")
        term.ctrl_c()
        assert await term.exit_status() == 130
        await term.expect("Stopped")
        assert "w1 w2 w3" in term.text()
    assert lyzr.disconnected.is_set()  # the agent's stream was closed, not left running


async def test_closing_the_terminal_leaves_no_redis_server_behind(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    lyzr.enqueue(LyzrScript(tokens=["first answer"]), story())
    async with Terminal(["chat"], console_env(tmp_path, lyzr)) as term:
        await term.expect("you>")
        term.type("hello")
        await term.expect("first answer")
        server = await embedded_server_pid(data)
        term.type("tell me a story")
        await term.expect("w10")
        term.hang_up()  # mid-reply, as closing the window does
        assert await term.exit_status() == 129  # 128 + SIGHUP
    await wait_until(lambda: process_gone(server), timeout=30, what="redis-server to exit")
    assert not await embedded_server_answers(data)

    # The next start finds nothing stale in its way.
    async with Terminal(["ask", "again"], console_env(tmp_path, lyzr)) as term:
        assert await term.exit_status() == 0
        await term.expect("You said: again")


async def test_the_agent_label_stays_while_the_agent_thinks(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    for env in ({"NO_COLOR": "1"}, {}):
        thinking = slow("The answer is here.")
        thinking.hold_after = 0  # no token until the test has seen the agent think
        lyzr.enqueue(thinking)
        async with Terminal(["chat"], console_env(tmp_path, lyzr, **env)) as term:
            await term.expect("you>")
            term.type("a question")
            await term.expect("Thinking")
            if not env:  # in colour the spinner turns meanwhile: the label outlives its redraws
                await term.expect(spinner_turned(term, times=3))
            thinking.hold.set()
            await term.expect("The answer is here.")
            lines = term.lines()
            answer = next(i for i, line in enumerate(lines) if "The answer is here." in line)
            label = lines[answer] if env else lines[answer - 1]
            assert label.startswith("agent>"), (env, term.text())
            assert "Thinking" not in term.text()  # the status is gone, the label is not
            term.ctrl_d()
            assert await term.exit_status() == 0
            if env:
                assert b"\x1b" not in term.raw  # NO_COLOR: not a single escape sequence


MARKDOWN = (
    "Some **strong** words and a [link](https://example.com/docs).\n\n"
    "```python\ndef double(x):\n    return 2 * x\n```\n\n"
    "- first item\n- second item\n\nThe end."
)


async def test_a_reply_is_markdown_in_colour_growing_in_place(
    lyzr: LyzrServer, tmp_path: Path
) -> None:
    # The last word is held until the cursor was seen: the whole reply took 1 s, and the
    # console (a process of its own) could draw it only once complete on a loaded machine.
    script = slow(MARKDOWN, delay=0.05)
    script.hold_after = len(script.tokens or ()) - 1
    lyzr.enqueue(script)
    seen_cursor = False

    async with Terminal(["ask", "format please"], console_env(tmp_path, lyzr)) as term:

        def cursor_shown() -> bool:
            nonlocal seen_cursor
            seen_cursor = seen_cursor or "▌" in term.text()
            return seen_cursor

        await term.expect(cursor_shown)
        script.hold.set()
        assert await term.exit_status() == 0
        await term.expect("The end.")
        text = term.text()
        assert seen_cursor and "▌" not in text  # a streaming cursor, gone at the end
        assert "**" not in text and "](" not in text and "```" not in text
        assert all(cell.bold for cell in term.cells("strong"))
        assert not any(cell.bold for cell in term.cells("words"))
        assert b"\x1b]8;" in term.raw and b"https://example.com/docs" in term.raw  # a link
        assert term.cells("def")[0].fg != "default"  # the code is highlighted
        assert "• first item" in text and "• second item" in text
        for line in ("Some strong words", "def double(x):", "• first item", "The end."):
            assert text.count(line) == 1, text  # redrawn in place, never repeated


async def test_an_agent_error_is_shown_once_as_one_line(lyzr: LyzrServer, tmp_path: Path) -> None:
    lyzr.enqueue(LyzrScript(tokens=split_words("Half of the answer"), error_after=3))
    async with Terminal(["ask", "go"], console_env(tmp_path, lyzr)) as term:
        assert await term.exit_status() == 1
        await term.expect("model exploded")
        text = term.text()
        assert "Half of the" in text
        errors = [line for line in term.lines() if "error" in line.lower()]
        assert len(errors) == 1, text
        assert "model exploded" in errors[0]
        assert term.raw.decode().count("reported an error") == 1
