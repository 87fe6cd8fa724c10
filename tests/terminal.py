"""A real terminal for tests: ``threadcast`` run under a pseudo-terminal, seen through a
VT100 emulator.

The process runs as a terminal's job does: a session of its own whose controlling terminal
is the pty, so Ctrl-C typed into the terminal (``\\x03`` through the line discipline) sends
SIGINT to its foreground process group, and closing the terminal (the master side) hangs
it up (SIGHUP). Everything it writes is fed to ``pyte`` (a terminal emulator), so a test
reads the screen a person would see — text placed by cursor movements, colours, bold —
and waits on the output, never on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import struct
import sys
import termios
from collections import deque
from collections.abc import Callable, Mapping

import pyte

from core.lifecycle import Lifecycle
from tests import forked

__all__ = ["ScrollbackScreen", "Terminal"]

COLUMNS = 100
ROWS = 40


class ScrollbackScreen(pyte.Screen):
    """A screen that keeps the lines scrolled off its top (``scrollback``), as a terminal
    does: what ``pyte.HistoryScreen`` keeps, without its paging, which routes every
    attribute lookup through a Python ``__getattribute__`` and wraps every event; parsing
    a streamed reply's redraws (most of a megabyte) cost several times the CPU with it."""

    def __init__(self, columns: int, lines: int, *, history: int = 10_000) -> None:
        self.scrollback: deque[pyte.screens.StaticDefaultDict[int, pyte.screens.Char]]
        self.scrollback = deque(maxlen=history)
        super().__init__(columns, lines)

    def index(self) -> None:
        top, bottom = self.margins or pyte.screens.Margins(0, self.lines - 1)
        if self.cursor.y == bottom:  # the top line scrolls off (as HistoryScreen.index)
            self.scrollback.append(self.buffer[top])
        super().index()

    def reset(self) -> None:
        super().reset()
        self.scrollback.clear()


class Terminal(Lifecycle):
    """``async with Terminal(["chat"], env) as term:`` — see the module docstring."""

    def __init__(self, args: list[str], env: Mapping[str, str]) -> None:
        self.args = args
        self.env = {**env, "TERM": "xterm-256color"}
        for name in ("COLUMNS", "LINES", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE"):
            self.env.pop(name, None)
        self.screen = ScrollbackScreen(COLUMNS, ROWS)
        self.raw = b""
        self._stream = pyte.ByteStream(self.screen)
        self._changed = asyncio.Event()
        self._master = -1
        self._closed = False
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
        self._master = master
        self.process = await forked.start(
            sys.executable,
            "-m",
            "bots.cli",
            *self.args,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=self.env,
            start_new_session=True,
            controlling_terminal=True,  # the pty (fd 0), taken after setsid
        )
        os.close(slave)
        os.set_blocking(master, False)
        asyncio.get_running_loop().add_reader(master, self._read)

    async def stop(self) -> None:
        self.hang_up()
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()

    # --- what the person does --------------------------------------------------------------

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self._master, line.encode() + b"\r")

    def ctrl_c(self) -> None:
        os.write(self._master, b"\x03")

    def ctrl_d(self) -> None:
        os.write(self._master, b"\x04")

    def hang_up(self) -> None:
        """Close the terminal, as closing its window does: the session gets SIGHUP."""
        if not self._closed:
            self._closed = True
            asyncio.get_running_loop().remove_reader(self._master)
            os.close(self._master)

    # --- what the person sees --------------------------------------------------------------

    def lines(self) -> list[str]:
        """Every line on the screen and above it (scrolled off), trailing spaces removed."""
        history = [self._line_text(line) for line in self.screen.scrollback]
        return history + [line.rstrip() for line in self.screen.display]

    def last_line(self) -> str:
        """The last line that is not blank."""
        return next((line for line in reversed(self.lines()) if line.strip()), "")

    def text(self) -> str:
        return "\n".join(self.lines())

    def cells(self, word: str) -> list[pyte.screens.Char]:
        """The screen cells of the first occurrence of ``word`` on the visible screen."""
        for y, line in enumerate(self.screen.display):
            x = line.find(word)
            if x >= 0:
                row = self.screen.buffer[y]
                return [row[x + i] for i in range(len(word))]
        raise AssertionError(f"{word!r} is not on the screen:\n{self.text()}")

    async def expect(
        self,
        wanted: str | Callable[[], bool],
        *,
        timeout: float = 60.0,  # noqa: ASYNC109
    ) -> None:
        """Wait until ``wanted`` (text, or a condition) is on the screen."""
        if isinstance(wanted, str):
            text = wanted

            def condition() -> bool:
                return text in self.text()
        else:
            condition = wanted
        try:
            async with asyncio.timeout(timeout):
                while not condition():
                    self._changed.clear()
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(f"never saw {wanted!r}; the screen:\n{self.text()}") from None

    async def exit_status(self, *, timeout: float = 60.0) -> int:  # noqa: ASYNC109
        """Wait for the process to end (reading its output meanwhile); its exit status."""
        assert self.process is not None
        async with asyncio.timeout(timeout):
            return await self.process.wait()

    # --- inside ----------------------------------------------------------------------------

    def _read(self) -> None:
        try:
            data = os.read(self._master, 65536)
        except BlockingIOError:
            return
        except OSError:  # EIO: every slave side is closed, the process has ended
            data = b""
        if not data:
            asyncio.get_running_loop().remove_reader(self._master)
        self.raw += data
        self._stream.feed(data)
        self._changed.set()

    def _line_text(self, line: Mapping[int, pyte.screens.Char]) -> str:
        return "".join(line[x].data for x in range(COLUMNS)).rstrip()
