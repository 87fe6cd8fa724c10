"""The agent's Markdown → Slack mrkdwn, one page at a time (pure; never raises).

Slack's ``text`` field speaks mrkdwn, not Markdown: ``*bold*``, ``_italic_``, ``~strike~``,
``<url|text>``, no headings, lists or tables, and ``&``, ``<``, ``>`` must be escaped
everywhere (code included). Escaping them is also what makes the agent's own
``<!channel>``, ``<!here>``, ``<@U…>``, ``<#C…>`` or ``<!subteam^…>`` inert: the only
``<…>`` in the output are links made here from ``[text](url)``, ``<https://…>``.

This module is the block pass: it walks the lines once, keeps fenced code verbatim (only
escaped; the language tag is dropped, since Slack cannot highlight), turns tables into
code blocks (:mod:`adapters.slack.tables`), and converts headings, rules, lists and quotes,
handing each line's prose to :mod:`adapters.slack.inline`.

The relay cuts pages on the Markdown *before* rendering and closes/reopens fences at the
cuts, so a page's fences are balanced except at the open, still-streaming end: a fence left
open there is closed in the output, so the code streams in as code. Fences are read by
:mod:`core.markdown_code`, as the relay's paginator reads them, so both agree on where code is.
Code is shown exactly: broadcast words are defused in prose only.

Deliberate limits: emphasis and code spans end at a line break (Slack's do too); code
indented by four spaces is prose; a table cut across two pages shows its continuation rows
as text. None of these loses text.
"""

from __future__ import annotations

import logging
import re

from adapters.slack.inline import defuse, escape, inline
from adapters.slack.tables import table_at
from core.markdown_code import LANGUAGE, closes, fence_line, inert_backticks

__all__ = ["to_mrkdwn"]

log = logging.getLogger(__name__)

_FENCE = "```"
_RULE = "———"
_BULLETS = ("•", "◦", "▪")  # by nesting depth, repeating
_BOXES = {" ": "☐", "x": "☑", "X": "☑"}  # task list items: "- [ ] todo", "- [x] done"
_INDENT = "    "

_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?")
_SETEXT_UNDERLINE = re.compile(r" {0,3}(?:=+|-+)[ \t]*")
_QUOTE = re.compile(r" {0,3}>[ \t]?")
_BULLET = re.compile(r"([ \t]*)[-*+][ \t]+(?:\[([ xX])\](?=[ \t]|$)[ \t]*)?")
_ORDERED = re.compile(r"([ \t]*)(\d{1,9}[.)])[ \t]+")


def to_mrkdwn(markdown: str) -> str:
    """Render one page of the agent's Markdown as Slack mrkdwn."""
    try:
        return _Renderer().render(markdown)
    except Exception:  # a formatting bug must never cost the user the reply
        log.exception("mrkdwn conversion failed; sending the text escaped")
        return defuse(escape(markdown))


def _without_language(info: str) -> str:
    """A fence's info string without its language tag, which Slack cannot highlight and
    would show as code. Longer info (``py title=x``, or prose) cannot be told from text,
    so it is kept whole, as the code's first line: no text is lost."""
    return "" if LANGUAGE.fullmatch(info) else info


def _is_rule(line: str) -> bool:
    """``---``, ``***``, ``___`` (spaces allowed between), indented ≤ 3 spaces."""
    body = line.strip()
    marks = body.replace(" ", "").replace("\t", "")
    indent = len(line) - len(line.lstrip(" "))
    return indent <= 3 and len(marks) >= 3 and marks[0] in "-*_" and marks == marks[0] * len(marks)


class _Renderer:
    """One render: the line cursor, the open fence and the list nesting."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self.fence: str | None = None  # the marker of the open code fence
        self.list_indents: list[int] = []  # indentation of each open list level

    def render(self, markdown: str) -> str:
        lines = markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        index = 0
        while index < len(lines):
            index = self._block(lines, index)
        if self.fence is not None:
            self.out.append(_FENCE)  # still streaming: show the code so far as code
        return "\n".join(self.out)

    def _block(self, lines: list[str], index: int) -> int:
        """Render the block starting at ``lines[index]``; return the next line's index."""
        line = lines[index]
        fence = fence_line(line)
        if self.fence is not None:
            if fence is not None and closes(fence, self.fence):
                self.fence = None
                self.out.append(_FENCE)
            else:
                self.out.append(escape(inert_backticks(line)))
            return index + 1
        if fence is not None:
            self.fence = fence[0]
            self.out.append(_FENCE + escape(_without_language(fence[1])))
            self.list_indents.clear()
            return index + 1
        table = table_at(lines, index)
        if table is not None:
            self.out += table[0]
            self.list_indents.clear()
            return table[1]
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if _SETEXT_UNDERLINE.fullmatch(underline) and self._is_paragraph(line):
            self.out.append(_heading(line.strip()))
            return index + 2
        self.out.append(self._line(line))
        return index + 1

    def _is_paragraph(self, line: str) -> bool:
        """An unindented text line, which a following ``===`` or ``---`` makes a heading
        (CommonMark's setext heading; an indented line may be a list item's text)."""
        return bool(line[:1].strip()) and not (
            _HEADING.fullmatch(line)
            or _is_rule(line)
            or _QUOTE.match(line)
            or _BULLET.match(line)
            or _ORDERED.match(line)
        )

    def _line(self, line: str) -> str:
        """One line outside code and tables."""
        if not line.strip():
            return ""  # a blank line does not end a list: items may be spaced out
        heading = _HEADING.fullmatch(line)
        if heading is not None:
            self.list_indents.clear()
            return _heading(heading.group(2) or "")
        if _is_rule(line):
            self.list_indents.clear()
            return _RULE
        quote = _QUOTE.match(line)
        if quote is not None:
            rest = line[quote.end() :]
            while (nested := _QUOTE.match(rest)) is not None:
                rest = rest[nested.end() :]  # Slack has one level of quote: flatten
            body = self._line(rest)
            return f"> {body}" if body else ">"
        item = _BULLET.match(line) or _ORDERED.match(line)
        if item is not None:
            depth = self._depth(len(item.group(1).expandtabs(4)))
            if item.re is _ORDERED:
                marker = item.group(2)
            else:
                box = item.group(2)
                marker = _BULLETS[depth % len(_BULLETS)] if box is None else _BOXES[box]
            return f"{_INDENT * depth}{marker} {inline(line[item.end() :])}".rstrip()
        if not line[:1].isspace():
            self.list_indents.clear()  # an unindented paragraph ends any list
        return inline(line)

    def _depth(self, indent: int) -> int:
        """Nesting depth of a list item: Markdown nests by indentation, not by marker."""
        while self.list_indents and self.list_indents[-1] > indent:
            self.list_indents.pop()
        if not self.list_indents or self.list_indents[-1] < indent:
            self.list_indents.append(indent)
        return len(self.list_indents) - 1


def _heading(text: str) -> str:
    """Slack has no headings: a bold line. A closing ``#`` run is dropped."""
    text = text.strip(" \t")
    stripped = text.rstrip("#")
    if not stripped or stripped[-1] in " \t":
        text = stripped.rstrip(" \t")
    body = inline(text, in_bold=True)
    return f"*{body}*" if body else ""
