"""The console's two views, fed the texts the relay sends while a reply streams.

The styled view's output goes through ``pyte`` (a terminal emulator), so the checks are on
what a terminal shows after every cursor movement and redraw, scrollback included.
"""

from __future__ import annotations

import io

import pyte
from rich.console import Console

from adapters.console import PlainView, StyledView, choose_view
from tests.terminal import ScrollbackScreen

WIDTH, HEIGHT = 80, 24
CODE = "\n".join(f"value_{i} = compute({i})" for i in range(60))
REPLY = (
    "An introduction that is **long enough** to wrap over more than one line of the "
    "terminal, to see that wrapping and redraws agree.\n\n"
    f"```python\n{CODE}\n```\n\n"
    "1. first point\n2. second point\n\n"
    "A conclusion."
)


def _streamed(text: str, step: int = 23) -> list[str]:
    """The successive texts of a reply growing by ``step`` characters, as the relay sends
    them: a code block still open is closed for the moment."""
    texts = []
    for end in range(step, len(text), step):
        partial = text[:end]
        if partial.count("```") % 2:
            partial += "\n```"
        texts.append(partial)
    return texts


class _Terminal:
    """A terminal (pyte) that the view's output is fed to as it grows: each byte is parsed
    once, however often the screen is looked at (the output is most of a megabyte)."""

    def __init__(self) -> None:
        self.screen = ScrollbackScreen(WIDTH, HEIGHT)
        self.stream = pyte.Stream(self.screen)
        self.fed = 0

    def lines(self, output: str) -> list[str]:
        """Scrollback and display once ``output`` (all the view wrote so far) is shown."""
        self.stream.feed(output[self.fed :].replace("\n", "\r\n"))
        self.fed = len(output)
        history = self.screen.scrollback
        top = ["".join(line[x].data for x in range(WIDTH)).rstrip() for line in history]
        return top + [line.rstrip() for line in self.screen.display]


def test_a_reply_taller_than_the_screen_ends_on_screen_once_and_in_order() -> None:
    out = io.StringIO()
    console = Console(
        file=out, force_terminal=True, width=WIDTH, height=HEIGHT, color_system="truecolor"
    )
    view = StyledView(console=console, errors=console)
    terminal = _Terminal()
    view.status("Thinking…")
    view.post("1", REPLY[:5], final=False)
    mid = ""
    for text in _streamed(REPLY):
        view.edit("1", text, final=False)
        if not mid and "value_40 = compute(40)" in text:
            mid = "\n".join(terminal.lines(out.getvalue())[-HEIGHT:])
    view.edit("1", REPLY, final=True)
    view.close()

    # Mid-stream, the growing end of the 60-line code block is what the screen shows.
    assert "value_40 = compute(40)" in mid and "▌" in mid, mid

    lines = terminal.lines(out.getvalue())
    text = "\n".join(lines)
    assert "Thinking" not in text and "▌" not in text
    code_rows = [i for i, line in enumerate(lines) if "= compute(" in line]
    assert len(code_rows) == 60  # each line of code once: nothing redrawn twice
    assert [lines[i].split("=")[0].strip() for i in code_rows] == [f"value_{i}" for i in range(60)]
    for words in ("An introduction that is long enough", "1 first point", "A conclusion."):
        assert text.count(words) == 1, text
    assert text.index("An introduction") < text.index("value_0")
    assert text.index("value_59") < text.index("first point") < text.index("A conclusion.")


def test_plain_view_writes_the_reply_exactly_and_holds_back_a_temporary_fence() -> None:
    out, info = io.StringIO(), io.StringIO()
    view = PlainView(out=out, info=info)
    view.status("Thinking…")  # not a terminal: no status
    view.post("1", "", final=False)
    seen = []
    for text in _streamed(REPLY):
        view.edit("1", text, final=False)
        seen.append(out.getvalue())
    view.edit("1", REPLY, final=True)
    assert out.getvalue() == REPLY
    assert all(REPLY.startswith(shown) for shown in seen)  # only ever appended
    assert info.getvalue() == ""


def test_plain_text_when_piped_or_with_no_color() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(choose_view(out=io.StringIO(), info=io.StringIO(), environ={}), PlainView)
    tty = Tty()
    assert isinstance(choose_view(out=tty, info=tty, environ={"NO_COLOR": "1"}), PlainView)
    assert isinstance(choose_view(out=tty, info=tty, environ={"TERM": "dumb"}), PlainView)
    assert isinstance(choose_view(out=tty, info=tty, environ={"NO_COLOR": ""}), StyledView)
