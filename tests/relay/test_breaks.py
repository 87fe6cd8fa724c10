"""Pages never end inside a link's text, a user-perceived character or a no-break pair.

The texts are built from units whose edges are known (words, words carrying emoji, links,
images, numbers joined to their unit by a no-break space), so every page boundary can be
checked against the places a page may end: between units, never inside one.
"""

from __future__ import annotations

import random

import pytest

from core.relay.breaks import cluster_start, is_word_break, link_start
from core.relay.pages import PageBook
from tests.relay.test_page_turns import turned_where_shown
from tests.relay.test_paginate import WORDS, Page, check_pages, paginate, paginate_streaming

FLAG_SCOTLAND = "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
CLUSTERS = [
    "👍🏽",  # skin-tone modifier
    "👩\u200d💻",  # ZWJ sequence
    "🇫🇷",  # regional indicator pair
    "🇯🇵",
    "e\u0301",  # combining accent
    "1\ufe0f\u20e3",  # keycap
    FLAG_SCOTLAND,  # tag sequence
    "ก\u0e31",  # Thai vowel mark
    "\u1100\u1161\u11a8",  # decomposed Hangul syllable
    "\u0915\u093f",  # Devanagari spacing vowel sign
]


def units_text(count: int, seed: int) -> tuple[str, set[int]]:
    """Prose of ``count`` units and the offsets strictly inside one (where no page may end)."""
    rnd = random.Random(seed)
    parts: list[str] = []
    inside: set[int] = set()
    offset = 0
    for index in range(count):
        word = WORDS[index % len(WORDS)]
        kind = rnd.random()
        if kind < 0.12:
            unit = f"[the {word} docs and notes](https://example.com/{word}/{index})"
        elif kind < 0.18:
            unit = f"![a {word} chart](https://example.com/{index}.png)"
        elif kind < 0.28:
            unit = f"{index}\xa0km"
        elif kind < 0.5:
            unit = word + "".join(rnd.choice(CLUSTERS) for _ in range(rnd.randint(1, 3)))
        else:
            unit = word
        separator = rnd.choice([" "] * 12 + ["\n", "\n\n"])
        inside.update(range(offset + 1, offset + len(unit)))
        parts += [unit, separator]
        offset += len(unit) + len(separator)
    return "".join(parts), inside


def clusters_text(count: int, seed: int) -> tuple[str, set[int]]:
    """``count`` user-perceived characters with no space between them, and the offsets
    strictly inside one."""
    rnd = random.Random(seed)
    parts: list[str] = []
    inside: set[int] = set()
    offset = 0
    for _ in range(count):
        cluster = rnd.choice([*CLUSTERS, "a", "b", "字"])
        inside.update(range(offset + 1, offset + len(cluster)))
        parts.append(cluster)
        offset += len(cluster)
    return "".join(parts), inside


def boundaries(pages: list[Page]) -> list[int]:
    offsets, done = [], 0
    for _, content, _ in pages[:-1]:
        done += len(content)
        offsets.append(done)
    return offsets


def test_pages_end_between_units_for_every_limit_and_arrival() -> None:
    for seed in range(3):
        text, inside = units_text(400, seed)
        for budget in range(80, 240, 7):  # every link fits a page
            for pages in (
                paginate(text, budget),
                paginate_streaming(text, budget, 1),
                paginate_streaming(text, budget, 9),
            ):
                check_pages(text, pages, budget)
                split = [b for b in boundaries(pages) if b in inside]
                assert not split, [(b, text[b - 20 : b], text[b : b + 20]) for b in split]


def test_a_page_turned_where_its_message_ends_keeps_units_whole_at_every_offset() -> None:
    text, inside = units_text(300, 11)
    checked: set[tuple[Page, ...]] = set()  # most offsets give pages checked already
    for offset in range(1, len(text)):
        pages = turned_where_shown(text, offset, 300, behind=True)
        if tuple(pages) in checked:
            continue  # the checks below are pure: the same pages pass them again
        checked.add(tuple(pages))
        check_pages(text, pages, 300)
        split = [b for b in boundaries(pages) if b in inside]
        assert not split, [(offset, b, text[b - 20 : b], text[b : b + 20]) for b in split]


def test_hard_cuts_never_split_a_user_perceived_character() -> None:
    """Without a space on the page a page is cut hard, but between characters as a reader
    sees them: an emoji keeps its modifier, a flag its pair, a letter its accent."""
    for seed in range(3):
        text, inside = clusters_text(500, seed)
        for budget in range(20, 140, 3):
            for pages in (paginate(text, budget), paginate_streaming(text, budget, 5)):
                check_pages(text, pages, budget)
                split = [b for b in boundaries(pages) if b in inside]
                assert not split, [(budget, b, text[b - 3 : b + 3]) for b in split]


def test_cluster_start() -> None:
    assert cluster_start("ab👍🏽cd", 0, 3) == 2  # before the emoji, not between it and 🏽
    assert cluster_start("ab👍🏽cd", 0, 4) == 4
    assert cluster_start("x🇫🇷🇯🇵", 0, 2) == 1  # inside the first flag
    assert cluster_start("x🇫🇷🇯🇵", 0, 3) == 3  # between the flags
    assert cluster_start("x🇫🇷🇯🇵", 0, 4) == 3
    assert cluster_start("x👩\u200d💻", 0, 3) == 1  # after the ZWJ
    assert cluster_start("x👩\u200d💻", 0, 2) == 1  # before the ZWJ
    assert cluster_start("👍🏽", 0, 1) == 1  # the whole page is one character: cut anyway
    assert cluster_start("a\r\nb", 0, 2) == 1


def test_word_breaks_and_link_starts() -> None:
    assert is_word_break("one two", 4) and is_word_break("one two", 3)
    assert not is_word_break("one two", 2)
    assert not is_word_break("10\xa0km", 3) and not is_word_break("10\xa0km", 2)
    assert not is_word_break("a \u0301b", 2)  # an accent after a space belongs to it
    text = "see [the relay docs](https://x.y) and ![a chart](c.png) now"
    assert link_start(text, 0, text.index("relay")) == text.index("[")
    assert link_start(text, 0, text.index("chart")) == text.index("!")
    assert link_start(text, 0, text.index("and")) == -1
    assert link_start(text, 0, text.index("now")) == -1
    assert link_start(text, text.index("relay"), text.index("docs")) == -1  # not on the page


@pytest.mark.parametrize("middle", ["[the relay docs](https://example.com/docs) ", "100\xa0km "])
def test_a_page_is_not_turned_inside_a_link_or_at_a_no_break_space(middle: str) -> None:
    words = "".join(f"w{i:03d} " for i in range(30))  # 150 characters
    text = words + middle + words
    book = PageBook(200, len)
    book.extend(text)
    for shown in range(len(words) + 1, len(words) + len(middle) - 1):
        assert book.cut_at_shown(shown, behind=True) is None, (middle, shown)
    cut = book.cut_at_shown(len(words), behind=True)
    assert cut is not None and cut.end == len(words)
