"""Where a reply's code is (CommonMark's fenced blocks and code spans), read one way by the
relay's paginator and by every platform's renderer, so that all of them agree on it.

A fence line is at most three spaces of indent, then a run of at least three backticks or
tildes (the marker), then an info string (its first word is the code's language). A
backtick fence's info string holds no backtick (CommonMark: ```` ```a``` ```` on one line is
inline code). The fence closes at a line of the same character, at least as long, and
nothing after it. A code span opens at a run of backticks and closes at the next run of
the same length; a run without such a partner is text. A span may hold line endings
(CommonMark, "Code spans": they are read as spaces), but not a blank line, which ends the
paragraph (block structure comes before inline structure).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator

__all__ = ["LANGUAGE", "closes", "code_spans", "fence_line", "inert_backticks"]

LANGUAGE = re.compile(r"[\w+#.-]{1,20}")
"""A plausible language tag: what the paginator reopens a fence with, and what a platform
that cannot highlight drops."""

_TICKS = re.compile(r"`+")
# A blank line (only spaces or tabs on it), which ends a paragraph: where it starts.
_BLANK_LINE = re.compile(r"\n[ \t]*(?=\n)")
# A run of three or more backticks, to break after every two.
_TICK_RUN = re.compile(r"``(?=`)")
_ZERO_WIDTH_SPACE = "\u200b"


def fence_line(line: str) -> tuple[str, str] | None:
    """``(marker, info)`` when ``line`` is a fence line, else ``None``."""
    body = line.lstrip(" ")
    if len(line) - len(body) > 3 or body[:1] not in ("`", "~"):
        return None
    run = len(body) - len(body.lstrip(body[0]))
    if run < 3:
        return None
    info = body[run:].strip()
    if body[0] == "`" and "`" in info:
        return None  # inline code such as ```a``` is not a fence
    return body[:run], info


def closes(found: tuple[str, str], marker: str) -> bool:
    """Whether the fence line ``found`` (:func:`fence_line`'s answer) closes the fence that
    ``marker`` opened."""
    run, info = found
    return not info and run[0] == marker[0] and len(run) >= len(marker)


def inert_backticks(code: str) -> str:
    """A line of code as Slack and Discord must get it: both end a code block at the next
    three backticks anywhere (a line of code such as ``print("```")``, which CommonMark
    keeps in the block), so each run of three or more is broken by a zero-width space after
    every two (shown as written; copied with the code, unseen)."""
    return _TICK_RUN.sub("``" + _ZERO_WIDTH_SPACE, code) if "```" in code else code


def code_spans(text: str) -> Iterator[tuple[int, int, int, int]]:
    """Each code span of ``text`` (a line, or lines of a paragraph), in order, as the offsets
    ``(opens, body, body_end, closed)``: its opening run starts at ``opens``, its text is
    ``text[body:body_end]`` and its closing run ends at ``closed``. The runs are grouped by
    paragraph and length up front and each is looked at once, so a text of unmatched
    backticks stays linear."""
    runs = [(m.start(), m.end()) for m in _TICKS.finditer(text)]
    blanks = [m.start() for m in _BLANK_LINE.finditer(text)] if "\n" in text else []
    # (paragraph, run length) -> indices of runs, last first
    later: dict[tuple[int, int], list[int]] = {}
    for index in reversed(range(len(runs))):
        start, end = runs[index]
        later.setdefault((bisect_right(blanks, start), end - start), []).append(index)
    index = 0
    while index < len(runs):
        start, end = runs[index]
        partners = later[bisect_right(blanks, start), end - start]
        while partners and partners[-1] <= index:
            partners.pop()
        if not partners:
            index += 1
            continue
        close = partners.pop()
        yield start, end, runs[close][0], runs[close][1]
        index = close + 1
