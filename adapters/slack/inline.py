"""One line of Markdown prose → Slack mrkdwn: code spans, links, emphasis, escapes (pure).

Works a line at a time: Slack's emphasis never spans a line break, and a streamed page grows
by lines, so an unclosed ``**bol`` at the end of a page stays literal and cannot reach into
other lines. Every step is a single left-to-right pass, so a line costs O(its length) even
when written to hurt (``**a **a **a …``, thousands of lone backticks or brackets):

1. code spans are rendered and replaced by a NUL placeholder, so nothing touches their
   content and a link's text may still hold code (``[`f()`](url)``);
2. the rest is tokenised (escapes, links, autolinks, bare URLs, delimiter runs, text); runs
   of ``*``, ``_``, ``~`` are paired with a simplified CommonMark delimiter stack, and a run
   left unpaired is kept as the literal text it was;
3. broadcast words are defused, and the code spans are put back.
"""

from __future__ import annotations

import re
import string
import unicodedata

from core.markdown_code import code_spans

__all__ = ["defuse", "escape", "inline"]

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_HOLE = "\x00"  # stands for one code span while the prose around it is converted

# Slack pings for a plain @here/@channel/@everyone only when a message is sent with
# `link_names` or `parse=full`, which this adapter never does; a word joiner after the "@"
# keeps them inert even if it ever were, and is invisible. An "@" after a word character,
# "/" or "." is part of an address or URL, not a broadcast.
_BROADCAST = re.compile(r"(?<![\w@/.])@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)

# Negated classes stop at the next bracket or parenthesis, so a failed attempt scans each
# character at most once: the link pattern stays linear on text full of unmatched brackets.
_TOKEN = re.compile(
    r"(?P<esc>\\[!-/:-@\[-`{-~])"
    r"|(?P<link>!?\[(?P<label>[^\[\]]*)\]\((?P<url>(?:[^()\s\x00]|\([^()\s\x00]*\))*)\))"
    r"|<(?P<auto>(?:https?://|mailto:)[^\s<>|\x00]+)>"
    r"|(?P<bare>https?://[^\s<>\x00]*[^\s<>\x00.,;:!?'\")\]*_~])"
    r"|(?P<delim>\*+|_+|~+)",
    re.IGNORECASE,
)
_LINKABLE = re.compile(r"(?:https?://|mailto:)\S", re.IGNORECASE)
_LONGEST_RUN = {"*": 3, "_": 3, "~": 2}  # longer runs are literal: no emphasis means that


def escape(text: str) -> str:
    """Escape the three characters Slack reserves; it decodes nothing else."""
    return text.translate(_ESCAPES)


def defuse(text: str) -> str:
    """Make plain ``@here``/``@channel``/``@everyone`` unable to ping (see ``_BROADCAST``)."""
    return _BROADCAST.sub("@\u2060", text)


def inline(line: str, *, in_bold: bool = False) -> str:
    """Convert one line of prose. ``in_bold``: the line is already bold (a heading), so its
    own bold markers are dropped rather than nested, which Slack cannot show."""
    masked, codes = _mask_code(line.replace(_HOLE, "\ufffd"))
    pieces = defuse(_prose(masked, in_bold)).split(_HOLE)
    out = [pieces[0]]
    for code, piece in zip(codes, pieces[1:], strict=True):
        out += (code, piece)
    return "".join(out)


def _mask_code(line: str) -> tuple[str, list[str]]:
    """Replace each code span by ``_HOLE``; return the line and the rendered spans."""
    out: list[str] = []
    codes: list[str] = []
    pos = 0
    for opens, body, body_end, closed in code_spans(line):
        out += (line[pos:opens], _HOLE)
        codes.append(_code_span(line[opens:body], line[body:body_end]))
        pos = closed
    out.append(line[pos:])
    return "".join(out), codes


def _code_span(ticks: str, body: str) -> str:
    # Slack knows only single-backtick spans: one holding a backtick is kept as written.
    if "`" in body:
        return f"{ticks}{escape(body)}{ticks}"
    if len(body) > 1 and body[0] == body[-1] == " " and body.strip(" "):
        body = body[1:-1]  # CommonMark's padding, which a single-backtick span doesn't need
    return f"`{escape(body)}`"


def _prose(text: str, in_bold: bool) -> str:
    """Links, escapes and emphasis of code-free text (see the module docstring)."""
    parts: list[str] = []
    opened: list[int] = []  # indices into ``parts`` of delimiter runs still open, in order
    by_kind: dict[tuple[str, int], list[tuple[int, int]]] = {}  # (char, n) -> (depth, part)
    pos = 0
    for match in _TOKEN.finditer(text):
        if match.start() > pos:
            parts.append(escape(text[pos : match.start()]))
        pos = match.end()
        kind, token = match.lastgroup, match.group()
        if kind == "esc":
            parts.append(escape(token[1]))
        elif kind == "link":
            parts.append(_link(match.group("label"), match.group("url"), in_bold))
        elif kind == "auto":
            parts.append(f"<{_link_target(match.group('auto'))}>")
        elif kind == "bare":
            parts.append(escape(token))  # kept whole: `_` or `**` in a URL is not emphasis
        else:
            parts.append(token)
            _pair(text, match.start(), pos, parts, opened, by_kind, in_bold)
    parts.append(escape(text[pos:]))
    return "".join(parts)


def _pair(
    text: str,
    start: int,
    end: int,
    parts: list[str],
    opened: list[int],
    by_kind: dict[tuple[str, int], list[tuple[int, int]]],
    in_bold: bool,
) -> None:
    """Close the latest open run of the same kind, or open one; the run just appended to
    ``parts`` stays literal when it can do neither."""
    char, size = text[start], end - start
    if size > _LONGEST_RUN[char]:
        return
    before = text[start - 1] if start else " "
    after = text[end] if end < len(text) else " "
    left = not after.isspace() and (not _is_punct(after) or before.isspace() or _is_punct(before))
    right = not before.isspace() and (not _is_punct(before) or after.isspace() or _is_punct(after))
    can_open, can_close = left, right
    if char == "_":  # snake_case: an underscore inside a word is never emphasis
        can_open = left and (not right or _is_punct(before))
        can_close = right and (not left or _is_punct(after))
    stack = by_kind.setdefault((char, size), [])
    # Entries of runs dropped from ``opened`` (inside a span closed since) are stale.
    while stack and (stack[-1][0] >= len(opened) or opened[stack[-1][0]] != stack[-1][1]):
        stack.pop()
    if can_close and stack:
        depth, opener = stack.pop()
        del opened[depth:]  # runs opened inside this span and still unpaired stay literal
        parts[opener], parts[-1] = _markers(char, size, in_bold)
    elif can_open:
        stack.append((len(opened), len(parts) - 1))
        opened.append(len(parts) - 1)


def _markers(char: str, size: int, in_bold: bool) -> tuple[str, str]:
    if char == "~":
        return "~", "~"
    if size == 1:
        return "_", "_"
    if size == 2:
        return ("", "") if in_bold else ("*", "*")
    return ("_", "_") if in_bold else ("*_", "_*")


# ASCII's punctuation and symbols (Unicode categories P* and S*): most runs sit among ASCII.
_ASCII_PUNCT = frozenset(string.punctuation)


def _is_punct(char: str) -> bool:
    if char < "\x80":
        return char in _ASCII_PUNCT
    return unicodedata.category(char)[0] in "PS"


def _link(label: str, url: str, in_bold: bool) -> str:
    text = _prose(label, in_bold)
    if _LINKABLE.match(url):
        return f"<{_link_target(url)}|{text}>" if text else f"<{_link_target(url)}>"
    # Anything else (a relative path, an anchor, "@U123" or "!here") must not become a
    # Slack <...> token: it could be a mention. Show it as text instead.
    return f"{text} ({escape(url)})" if url else text


def _link_target(url: str) -> str:
    # "|" would end the URL inside <url|text>; percent-encoding it keeps the same address.
    return escape(url).replace("|", "%7C")
