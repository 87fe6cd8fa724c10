"""Where a page may end inside a line of prose (pure; no I/O).

Between words, yes; but never where the two messages would each show something broken:

- inside a user-perceived character: an emoji and its skin-tone modifier, a ZWJ sequence
  (👩‍💻), a flag (two regional indicators), a letter and its accents, a keycap — each
  half shows as a different or broken symbol (Unicode's extended grapheme clusters,
  UAX #29, for the cases a chat reply meets; Hangul jamo, the rare decomposed form, too);
- at a no-break space, which the writer put there precisely to keep two words together;
- inside a Markdown link's text (``[see the docs](https://…)``): neither half is a link.
  The link's end may not have arrived yet when a streaming page is cut (pages are never
  revisited), so an open ``[`` on the line, not yet closed, counts as a link's start.
"""

from __future__ import annotations

import unicodedata

__all__ = ["cluster_start", "hard_end", "is_word_break", "link_start", "word_end"]

_NO_BREAK_SPACES = frozenset("\xa0\u2007\u202f")
_ZWJ = "\u200d"


def _extends(char: str) -> bool:
    """Whether ``char`` continues the cluster before it (never starts one of its own)."""
    code = ord(char)
    if code < 0x300:
        return False  # ASCII and Latin-1, most of any reply: one comparison
    return (
        char == _ZWJ
        or unicodedata.category(char) in ("Mn", "Me", "Mc")  # accents, VS-16, keycap, vowels
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin-tone modifiers
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences (subdivision flags)
        or 0x1160 <= code <= 0x11FF  # Hangul vowel and final jamo
        or 0xD7B0 <= code <= 0xD7FF
    )


def _regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _joined(text: str, end: int) -> bool:
    """Whether ``text[end - 1]`` and ``text[end]`` belong to one user-perceived character."""
    before, after = text[end - 1], text[end]
    if before == "\r" and after == "\n":
        return True
    if before == _ZWJ or _extends(after):
        return True
    if _regional(before) and _regional(after):
        run = end - 1
        while run > 0 and _regional(text[run - 1]):
            run -= 1
        return (end - run) % 2 == 1  # flags pair up from the start of the run
    return False


def cluster_start(text: str, start: int, end: int) -> int:
    """``end`` moved back to the nearest boundary between user-perceived characters, for a
    hard cut of ``text[start:end]``; ``end`` itself when the whole page is one character."""
    cut = end
    while start < cut < len(text) and _joined(text, cut):
        cut -= 1
    return cut if cut > start else end


def is_word_break(text: str, end: int) -> bool:
    """Whether ``0 < end < len(text)`` falls between two words: a breaking space on one
    side, and the character after it does not belong to the one before."""
    before, after = text[end - 1], text[end]
    spaced = (before.isspace() and before not in _NO_BREAK_SPACES) or (
        after.isspace() and after not in _NO_BREAK_SPACES
    )
    return spaced and not _joined(text, end)


def link_start(text: str, start: int, end: int) -> int:
    """Where the Markdown link whose text ``end`` falls in starts (its ``[``, or the ``!`` of
    an image), when that is on the page ``text[start:end]``; else ``-1``."""
    line = max(start, text.rfind("\n", start, end) + 1)
    bracket = text.rfind("[", line, end)
    if bracket < 0 or text.find("]", bracket, end) >= 0:
        return -1
    return bracket - 1 if bracket > start and text[bracket - 1] == "!" else bracket


def word_end(text: str, start: int, limit: int) -> int:
    """The last end of a word after a space, ``start < end <= limit``, that is a clean break
    (:func:`is_word_break`) outside a link's text; ``-1`` if none."""
    while (found := text.rfind(" ", start, limit)) >= 0:
        end = found + 1
        link = link_start(text, start, end) if is_word_break(text, end) else found
        if link < 0:
            return end
        limit = link  # look before the link (or this space)
    return -1


def hard_end(text: str, start: int, limit: int) -> int:
    """No clean boundary on the page (a word or a link longer than the page): the last space
    even inside a link's text, else between two user-perceived characters."""
    found = text.rfind(" ", start, limit)
    if found >= 0 and is_word_break(text, found + 1):
        return found + 1
    return cluster_start(text, start, limit)
