"""One reply message growing in a terminal, rendered as Markdown by ``rich``.

Finished blocks (:mod:`.blocks`) are printed once, above a live region (``rich.live``) in
which the block still growing is redrawn in place, with a cursor at its end, each time the
text grows. The live region never exceeds the screen (a taller block shows its last
lines until it is finished and printed whole), because a terminal cannot redraw lines that
have scrolled away. Before the first text, the live region shows the thinking status with
a spinner. The live region is transient: when the message is final it is cleared and the
rest of the text printed, so what stays on screen was printed exactly once.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment
from rich.spinner import Spinner
from rich.text import Text

from adapters.console.blocks import finished_prefix, insert_cursor, tail_lines

__all__ = ["CURSOR", "MarkdownStream"]

CURSOR = "▌"
_REFRESHES_PER_SECOND = 12  # the spinner's pace; text redraws happen on every update
_CODE_THEME = "monokai"


def _trim(line: list[Segment]) -> list[Segment]:
    """``line`` without the trailing spaces rich pads it with (unless they are coloured,
    as a code block's background is)."""
    line = list(line)
    while line:
        last = line[-1]
        if last.control or (last.style is not None and last.style.bgcolor is not None):
            break
        text = last.text.rstrip(" ")
        if text:
            line[-1] = Segment(text, last.style)
            break
        line.pop()
    return line


class _Lines:
    """Already rendered lines (the height cut needs them rendered first)."""

    def __init__(self, lines: list[list[Segment]]) -> None:
        self.lines = lines

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.lines:
            yield from line
            yield Segment.line()


class MarkdownStream:
    """Shows one message's successive texts; see the module docstring."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._printed = 0  # characters of the text printed for good
        self._gap = False  # a blank line is owed before the next block
        self._live: Live | None = None
        self._text = ""

    def status(self, text: str | None) -> None:
        """Show (or, with None, clear) a thinking status while no text has come yet."""
        if self._text:
            return
        if text is None:
            self._stop_live()
            return
        self._ensure_live().update(Spinner("dots", Text(text, style="dim")), refresh=True)

    def update(self, text: str, *, final: bool) -> None:
        if not text.startswith(self._text[: self._printed]):
            self._printed = 0  # an edit changed printed text: show it again, whole
            self._gap = True
        self._text = text
        if final:
            self._stop_live()
            self._print(text[self._printed :])
            self._printed = len(text)
            return
        done = finished_prefix(text, self._printed)
        if done > self._printed:
            self._print(text[self._printed : done])
            self._printed = done
        self._show_tail(text[self._printed :])

    def close(self) -> None:
        """Finish as shown (a message that got no final edit)."""
        if self._printed < len(self._text):
            self.update(self._text, final=True)
        self._stop_live()

    # --- inside ----------------------------------------------------------------------------

    def _print(self, markdown: str) -> None:
        lines = self._render(markdown)
        if not lines:
            return
        if self._gap:
            lines.insert(0, [])
        self.console.print(_Lines(lines), end="")
        self._gap = True

    def _show_tail(self, markdown: str) -> None:
        height = max(1, self.console.size.height - 1)
        lines = self._render(insert_cursor(tail_lines(markdown, height), CURSOR))
        if self._gap and lines:
            lines.insert(0, [])
        self._ensure_live().update(_Lines(lines[-height:]), refresh=True)

    def _render(self, markdown: str) -> list[list[Segment]]:
        """The lines of ``markdown``, without the blank lines rich puts around some blocks
        (the gaps between blocks are this class's)."""
        if not markdown.strip():
            return []
        rendered = Markdown(markdown, code_theme=_CODE_THEME, hyperlinks=True)
        lines = [
            _trim(line)
            for line in self.console.render_lines(rendered, self.console.options, pad=False)
        ]
        while lines and not Segment.get_line_length(lines[0]):
            lines.pop(0)
        while lines and not Segment.get_line_length(lines[-1]):
            lines.pop()
        return lines

    def _ensure_live(self) -> Live:
        if self._live is None:
            self._live = Live(
                console=self.console,
                auto_refresh=True,
                refresh_per_second=_REFRESHES_PER_SECOND,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
                vertical_overflow="crop",
            )
            self._live.start()
        return self._live

    def _stop_live(self) -> None:
        live, self._live = self._live, None
        if live is not None:
            live.stop()
