"""The agent's Markdown → what Discord shows, one page at a time (pure; never raises).

Discord speaks a subset of Markdown (discord-api-docs, Reference > Message Formatting: "a
subset of markdown"), listed in support.discord.com "Markdown Text 101" (and its community
original, gist matthewzring/markdown-text-101): bold, italics, underline, strike, spoilers,
code spans and triple-backtick blocks, headings ``#``, ``##`` and ``###`` only, ``-#`` subtext,
lists, ``>``/``>>>`` quotes, ``[text](url)`` masked links. No tables, rules, images or HTML:
what an agent writes of those would show as written, so it is rewritten into that subset:

- a GFM pipe table → an aligned table in a code block (:mod:`adapters.markdown_tables`,
  shared with Slack); a page that starts inside a table (the relay cut it) shows its rows
  aligned too, without the header, which is on the page before (a row longer than a page,
  the only one the relay splits, is reopened as a row, its rest in its own column:
  :class:`core.relay.paginate.Row`);
- a ``####``, ``#####`` or ``######`` heading → a bold line: Discord's smallest heading is
  ``###``, and a bold line is the one step below it (an h4 stays less prominent than an
  h3), where ``###`` would flatten the outline;
- a setext heading (a line underlined with ``===`` or ``---``) → ``#`` or ``##``;
- a horizontal rule (``---``, ``***``, ``___``) → a short line of ``─``, a visible break
  that does not wrap on a phone (an empty line would merge with the paragraph breaks);
- an image ``![alt](url)`` → the link ``[alt](url)`` (the bare URL when there is no alt);
- an HTML line break ``<br>`` → a line break (in a table cell, a space);
- ``__text__``, strong emphasis in CommonMark (what the agent means) but underline on
  Discord → ``**text**``, and ``___text___`` (strong emphasis and emphasis; underline and
  italics on Discord) → ``***text***``; only where it is plainly emphasis: ``__init__``
  inside a word, a path or a URL stays as written (in a table cell, plain text);
- a code fence of ``~~~`` or of more than three backticks → three backticks, Discord's only
  fence (a ``~~~python`` block would show its tildes, and its code as Markdown);
- three backticks in a line of code (``print("```")``, or a fence line with a language
  inside a block, both code to CommonMark) → broken by a zero-width space: Discord ends a
  block at the next three backticks wherever they are (as Slack does, in
  :mod:`adapters.slack.mrkdwn`).

Everything else goes as written, and nothing else inside code is touched: fenced blocks
(read by :mod:`core.markdown_code`, as the relay's paginator reads them, so both agree on
where code is, a reopened ``~~~`` fence included) and code spans. The
relay measures pages as ``len(render(page))`` and renders every edit of the open page, so
the common page, with none of these, is returned as it is after a few scans in C (a few
µs for 2,000 characters; a page that is all table, about 0.2 ms).

A code span may run over the lines of a paragraph: CommonMark allows line endings in one
(spec, "Code spans"), and Discord shows one as code too, as far as the open renderers
that mimic it tell: brussell98/discord-markdown (index.js) keeps simple-markdown's
``inlineCode`` rule (ariabuckles/simple-markdown, simple-markdown.js), which takes any
character up to the closing run, line breaks included. So a prose line with a backtick is
rewritten together with the rest of its paragraph.

Deliberate limits: a setext heading takes only the line above its underline.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from adapters.markdown_tables import plain_cell, rows_at, table_at
from core.markdown_code import closes, code_spans, fence_line, inert_backticks

__all__ = ["to_discord"]

log = logging.getLogger(__name__)

_FENCE = "```"
_RULE = "─" * 16

# A line that may be a deep heading, a rule or a setext underline. It starts with the line
# break (the text is searched with one put before it), a literal the regex engine looks for
# with a fast scan, where a ``^`` in MULTILINE mode would be tried at every character.
_BLOCK_WORK = re.compile(
    r"\n {0,3}(?:#{4,6}(?:[ \t]|$)|([-*_])[ \t]*(?:\1[ \t]*){2,}$|(?:=+|-{2,})[ \t]*$|~~~|````)",
    re.MULTILINE,
)
# A fence line of three backticks (its info string holds none; a longer run is in
# _BLOCK_WORK): the info string.
_FENCE_INFO = re.compile(r"\n {0,3}```([^`\n]*)(?![^\n])")
_DEEP_HEADING = re.compile(r" {0,3}#{4,6}(?:[ \t]+(.*))?")
_HEADING = re.compile(r" {0,3}#{1,6}(?:[ \t]|$)")  # a line of its own: no span runs on from it
_SETEXT_UNDERLINE = re.compile(r" {0,3}(=+|-{2,})[ \t]*")
_NOT_PARAGRAPH = re.compile(r" {0,3}(?:#{1,6}(?:[ \t]|$)|>|[-*+][ \t]|\d{1,9}[.)][ \t])")
_RULE_LINE = re.compile(r" {0,3}([-*_])[ \t]*(?:\1[ \t]*){2,}")
_IMAGE = re.compile(
    r"!\[([^\[\]\n]*)\]\([ \t]*(<[^<>\n]*>|[^\s()<>]+|)(?:[ \t]+\"[^\"\n]*\")?[ \t]*\)"
)
_BREAK = re.compile(r"<br[ \t]*/?>", re.IGNORECASE)
_BOLD = "**"
# ``__text__`` (or ``___text___``: group 1 is the third underscore) that CommonMark reads as
# strong emphasis (and emphasis), taken only where it is plainly so: the opening run after
# a line start, a space or opening punctuation (not in a word, a path or a URL, and not a
# link's destination), the closing one, as long, before a line end, a space or closing
# punctuation; no ``__`` inside, no space just inside. The pattern starts with its literal
# (the lookbehinds follow it), so the engine finds candidates by a fast scan.
_STRONG = re.compile(
    r"__(?<![^\s(\[{\"'*~>]__)(?<!\]\(__)(_?)(?![\s_])((?:(?!__).)+?)(?<![\s_\\])__\1"
    r"(?![^\s)\]}\"'*~.,;:!?])"
)

_Rewrite = Callable[[str], str]


def to_discord(markdown: str) -> str:
    """Render one page of the agent's Markdown as Discord shows it."""
    if "\r" in markdown:
        markdown = markdown.replace("\r\n", "\n").replace("\r", "\n")
    if not _has_work(markdown):
        return markdown
    try:
        return _render(markdown.split("\n"))
    except Exception:  # a formatting bug must never cost the user the reply
        log.exception("Discord Markdown rewrite failed; sending the text as written")
        return markdown


def _has_work(markdown: str) -> bool:
    """Whether the page holds any of the constructs rewritten here (a page without one is
    sent as it is): a few substring scans, then regex searches that start at a literal
    (``"__" in`` would take longer than ``_STRONG``'s own scan for it)."""
    return (
        "|" in markdown
        or "![" in markdown
        or ("<" in markdown and _BREAK.search(markdown) is not None)
        or ("_" in markdown and _STRONG.search(markdown) is not None)
        or _BLOCK_WORK.search(text := "\n" + markdown) is not None
        or ((fences := markdown.count(_FENCE)) > 0 and _ticks_in_code(text, fences))
    )


def _ticks_in_code(text: str, fences: int) -> bool:
    """Whether a line of code may hold three backticks, which :func:`_render` breaks (``text``
    is the page after a line break, ``fences`` its runs of three backticks). Called when
    :data:`_BLOCK_WORK` found no fence of tildes or of four backticks or more: where every
    run is a fence line, those lines open and close blocks in turn, and only a closing one
    with an info string (code to CommonMark) is work. Any other run takes the full pass,
    which knows where code is."""
    infos = _FENCE_INFO.findall(text)
    if len(infos) != fences:
        return True
    return bool("".join(infos[1::2]).strip())


def _render(lines: list[str]) -> str:
    out: list[str] = []
    fence: str | None = None  # the marker of the open code fence
    index = 0
    while index < len(lines):
        line = lines[index]
        found = fence_line(line)
        if fence is not None:
            if found is not None and closes(found, fence):
                out.append(_fence_out(line, found[0]))
                fence = None
            else:
                out.append(inert_backticks(line))
            index += 1
            continue
        if found is not None:
            fence = found[0]
            out.append(_fence_out(line, fence))
            index += 1
            continue
        table = table_at(lines, index, _cell)
        if table is None and index == 0:
            table = rows_at(lines, index, _cell)  # the rest of a table cut by the relay
        if table is not None:
            out += (_FENCE, *table[0], _FENCE)
            index = table[1]
            continue
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        setext = _SETEXT_UNDERLINE.fullmatch(underline)
        if setext is not None and _is_paragraph(line):
            level = "#" if setext[1][0] == "=" else "##"
            out.append(f"{level} {_prose(line.strip())}")
            index += 2
            continue
        if "`" in line and not _HEADING.match(line) and not _RULE_LINE.fullmatch(line):
            # A code span may run on to the paragraph's next lines: all are rewritten at once.
            end = _paragraph_end(lines, index + 1)
            out.append(_prose("\n".join(lines[index:end])))
            index = end
            continue
        out.append(_line(line))
        index += 1
    return "\n".join(out)


def _paragraph_end(lines: list[str], index: int) -> int:
    """Where the paragraph that ``lines[index - 1]`` is prose of ends (CommonMark's paragraph
    continuation): at a blank line, or at a line that starts a block of its own (a fence, a
    table, a heading, a rule, a list item, a quote after prose) or ends the paragraph as a
    setext heading's text."""
    while index < len(lines):
        line = lines[index]
        if not line.strip() or fence_line(line) is not None or _RULE_LINE.fullmatch(line):
            break
        quoted = line.lstrip(" ")[:1] == lines[index - 1].lstrip(" ")[:1] == ">"
        if _NOT_PARAGRAPH.match(line) and not quoted:
            break  # a quote's lines are one paragraph; any other block start ends it
        underline = lines[index + 1] if index + 1 < len(lines) else ""
        if _SETEXT_UNDERLINE.fullmatch(underline) and _is_paragraph(line):
            break
        if table_at(lines, index, _cell) is not None:
            break
        index += 1
    return index


def _fence_out(line: str, marker: str) -> str:
    """A fence line as Discord takes it: its marker as three backticks, Discord's only fence
    (a ``~~~`` or longer marker would show as written, its code as Markdown). Where it was
    another marker, its info string may hold backtick runs, which are broken
    (:func:`core.markdown_code.inert_backticks`)."""
    if marker == _FENCE:
        return line
    indent = len(line) - len(line.lstrip(" "))
    info = line[indent + len(marker) :].lstrip(" \t")  # Discord takes a language only there
    return line[:indent] + _FENCE + inert_backticks(info)


def _is_paragraph(line: str) -> bool:
    """An unindented text line, which a following ``===`` or ``---`` makes a heading
    (CommonMark's setext heading; not a heading, rule, quote or list item already)."""
    return bool(line[:1].strip()) and not (
        _NOT_PARAGRAPH.match(line) or _RULE_LINE.fullmatch(line) or "|" in line
    )


def _line(line: str) -> str:
    """One line outside code and tables."""
    heading = _DEEP_HEADING.fullmatch(line)
    if heading is not None:
        return _bold((heading[1] or "").strip(" \t"))
    if _RULE_LINE.fullmatch(line):
        return _RULE
    return _prose(line)


def _bold(text: str) -> str:
    """A heading Discord has no size for, as a bold line. A closing ``#`` run is dropped,
    and the text's own bold markers, which would end the bold early."""
    stripped = text.rstrip("#")
    if not stripped or stripped[-1] in " \t":
        text = stripped.rstrip(" \t")
    body = _outside_code(text, lambda prose: _inline(prose).replace(_BOLD, ""))
    return f"{_BOLD}{body}{_BOLD}" if body.strip() else ""


def _prose(line: str) -> str:
    if "![" not in line and "<" not in line and "__" not in line:
        return line
    return _outside_code(line, _inline)


def _inline(text: str) -> str:
    return _strong(_breaks(_IMAGE.sub(_link, text), "\n"))


def _strong(text: str) -> str:
    """``__text__`` as ``**text**`` and ``___text___`` as ``***text***``: CommonMark's strong
    emphasis (and emphasis), which Discord would show underlined (and italic); ``__init__``
    or ``snake___case`` in a word, a path or a URL is left as it is."""
    return _STRONG.sub(_bold_markers, text) if "__" in text else text


def _bold_markers(strong: re.Match[str]) -> str:
    marker = "***" if strong[1] else _BOLD
    return f"{marker}{strong[2]}{marker}"


def _breaks(text: str, by: str) -> str:
    """``text`` with each ``<br>`` (and the spaces around it) replaced by ``by``; split, not
    one pattern with the spaces in it, which would rescan a run of spaces from each one."""
    if "<" not in text:
        return text
    parts = _BREAK.split(text)
    if len(parts) == 1:
        return text
    last = len(parts) - 1
    return by.join(
        part.rstrip(" \t") if i == 0 else part.lstrip(" \t") if i == last else part.strip(" \t")
        for i, part in enumerate(parts)
    )


def _cell(text: str) -> str:
    """A table cell as plain text (the code block would show its markers); a line break
    in it as a space, since a row is one line."""
    if "__" in text:
        text = _outside_code(text, _unmarked)
    return plain_cell(_breaks(text, " ") if "<" in text else text)


def _unmarked(text: str) -> str:
    """``text`` without the markers of its strong emphasis (``__x__``, ``___x___``)."""
    return _STRONG.sub(r"\2", text)


def _link(image: re.Match[str]) -> str:
    alt, url = image[1].strip(), image[2].removeprefix("<").removesuffix(">")
    if not url:
        return alt
    return f"[{alt}]({url})" if alt else url


def _outside_code(line: str, rewrite: _Rewrite) -> str:
    """``line`` with ``rewrite`` applied to its text outside code spans."""
    pieces: list[str] = []
    done = 0  # the line up to here is in ``pieces``
    for opens, _, _, closed in code_spans(line):
        pieces += (rewrite(line[done:opens]), line[opens:closed])
        done = closed
    pieces.append(rewrite(line[done:]))
    return "".join(pieces)
