"""Markdown → what Discord shows: tables, deep headings, rules, images, line breaks; code
untouched; pages cut anywhere (mid-table, mid-fence) by the relay."""

from __future__ import annotations

import random
import re

import pytest

from adapters.discord import markdown
from adapters.discord.markdown import to_discord
from core.markdown_code import code_spans
from core.relay.pages import split_whole
from core.relay.paginate import fence_at, page_markdown

FENCE = "```"
RULE = "─" * 16

TABLE = "\n".join(
    [
        "Prices:",
        "| Item | Qty | Note |",
        "|:-----|----:|:----:|",
        "| **Apple** | 3 | [site](https://a.io) |",
        "| Kiwi & <Lime> | 12 | a \\| b |",
        "| 苹果 | 1 | x<br>y |",
        "",
        "after",
    ]
)


def test_a_table_becomes_an_aligned_code_block() -> None:
    assert to_discord(TABLE).split("\n") == [
        "Prices:",
        FENCE,
        "Item          | Qty |        Note",
        "--------------+-----+--------------------",
        "Apple         |   3 | site (https://a.io)",
        "Kiwi & <Lime> |  12 |        a | b",
        "苹果          |   1 |         x y",
        FENCE,
        "",
        "after",
    ]


def test_a_table_needs_a_matching_delimiter_row() -> None:
    assert to_discord("text\na | b\n|---|") == "text\na | b\n|---|"
    assert to_discord("text\na | b\nc | d") == "text\na | b\nc | d"
    # Ragged rows keep their extra cells: no text is dropped.
    assert to_discord("|a|\n|-|\n|b|c|") == f"{FENCE}\na |\n--+--\nb | c\n{FENCE}"


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text)


def test_a_table_cut_at_any_offset_shows_its_rows_so_far() -> None:
    # A streamed page may stop anywhere in a table: what arrived is shown, in a code block
    # once the delimiter row is whole, and every code block is closed. (One test for every
    # offset: a test item each would cost the parallel run more than the checks.)
    for end in range(len(TABLE) + 1):
        page = TABLE[:end]
        out = to_discord(page)
        lines = out.split("\n")
        assert lines.count(FENCE) % 2 == 0, out
        missing = [word for word in _words(page.replace("<br>", " ")) if word not in out]
        assert not missing, (page, out)
        if "|:----:|" in page:  # the delimiter row is whole: a table, its header first
            assert lines[1] == FENCE and re.fullmatch(r"Item +\| Qty \| +Note", lines[2]), out


def test_a_page_that_starts_inside_a_table_shows_its_rows_aligned() -> None:
    # The relay cut the table: the header and delimiter row are on the page before.
    page = "| Kiwi | 12 |\n| 苹果 | 1 |\n\nafter | x"
    assert to_discord(page) == f"{FENCE}\nKiwi | 12\n苹果 | 1\n{FENCE}\n\nafter | x"
    # Only at the page's start: later, a row without its header is text.
    assert to_discord("text\n| a | b |") == "text\n| a | b |"


def test_a_long_table_paged_by_the_relay_stays_aligned_on_every_page() -> None:
    rows = "".join(f"| row {n} | {n * 37} | a note on row {n} |\n" for n in range(150))
    reply = f"Results:\n\n| Name | Value | Note |\n|:--|--:|--|\n{rows}\nDone."
    pages = split_whole(reply, 2000, lambda page: len(to_discord(page)))
    assert len(pages) >= 3
    shown = [to_discord(page) for page in pages]
    assert all(len(text) <= 2000 for text in shown)
    for text in shown:
        body = [line for line in text.split("\n") if line.startswith("row ")]
        assert body, text
        assert len({line.index("|") for line in body}) == 1, text  # one column edge
        assert text.split("\n").count(FENCE) == 2, text
    assert sum(line.startswith("row ") for text in shown for line in text.split("\n")) == 150


def test_a_table_row_longer_than_a_page_stays_in_the_table_on_every_page() -> None:
    # The relay splits a row only when it alone exceeds the page; each part is then closed
    # and reopened as a row (core.relay.paginate.Row), so no page shows raw pipes: every
    # line with a pipe is inside a code block, and the rest of the long cell stays in its
    # column (the second), the rows after it aligned with it.
    long = " ".join(f"w{i}" for i in range(1200))
    rows = "".join(f"| r{n} | {n * 37} | n{n} |\n" for n in range(30))
    reply = f"Intro\n\n| A | B | C |\n|---|---|---|\n{rows}| long | {long} | end |\n{rows}\nDone."
    pages = split_whole(reply, 2000, lambda page: len(to_discord(page)))
    shown = [to_discord(page) for page in pages]
    assert all(len(text) <= 2000 for text in shown)
    in_code = False
    for text in shown:
        for line in text.split("\n"):
            if line == FENCE:
                in_code = not in_code
            else:
                assert in_code or "|" not in line, (line[:60], text[:200])
        assert not in_code, text
    words = [word for text in shown for word in re.findall(r"\bw\d+\b", text)]
    assert words == [f"w{i}" for i in range(1200)]
    cells = [line.split(" | ") for text in shown for line in text.split("\n")]
    assert [row[0].strip() for row in cells if "w1199" in " ".join(row)] == [""]
    assert [row[-1] for row in cells if row[-1].strip() == "end"]  # the last column's cell
    assert sum(row[0].startswith("r") for row in cells) == 60


@pytest.mark.parametrize(
    ("heading", "expected"),
    [
        ("#### Deep", "**Deep**"),
        ("##### Deeper ##", "**Deeper**"),
        ("###### C#", "**C#**"),
        ("   #### Indented", "**Indented**"),
        ("#### A **bold** word", "**A bold word**"),
        ("#### Call `a**b` now", "**Call `a**b` now**"),
        ("####", ""),
        ("#### ", ""),
    ],
)
def test_headings_deeper_than_three_become_bold_lines(heading: str, expected: str) -> None:
    assert to_discord(f"text\n{heading}\nmore") == f"text\n{expected}\nmore"


@pytest.mark.parametrize(
    "line", ["# Big", "## Medium", "### Small", "####### seven", "####no-space", "    #### code"]
)
def test_headings_discord_shows_and_non_headings_are_kept(line: str) -> None:
    assert to_discord(f"{line}\n---x") == f"{line}\n---x"


def test_setext_headings_become_discord_headings() -> None:
    assert to_discord("Title\n=====\nbody") == "# Title\nbody"
    assert to_discord("Part\n---\nbody") == "## Part\nbody"
    assert to_discord("- item\n---") == f"- item\n{RULE}"  # a list item is no heading
    assert to_discord("text\n-") == "text\n-"  # a list streaming in, not an underline


@pytest.mark.parametrize("rule", ["---", "***", "___", "- - -", " * * * ", "-----", "___ "])
def test_horizontal_rules_become_a_line(rule: str) -> None:
    assert to_discord(f"above\n\n{rule}\n\nbelow") == f"above\n\n{RULE}\n\nbelow"


@pytest.mark.parametrize("line", ["--", "- item", "** bold", "    ---", "-- -x"])
def test_lines_that_are_no_rule_are_kept(line: str) -> None:
    assert to_discord(f"\n{line}") == f"\n{line}"


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("![diagram](https://x.io/d.png)", "[diagram](https://x.io/d.png)"),
        ('![a plot](https://x.io/p.png "Figure 1")', "[a plot](https://x.io/p.png)"),
        ("![](https://x.io/e.png)", "https://x.io/e.png"),
        ("![logo](<https://x.io/a b.png>)", "[logo](https://x.io/a b.png)"),
        ("![only alt]()", "only alt"),
        ("![not closed](https://x.io", "![not closed](https://x.io"),
    ],
)
def test_images_become_links(image: str, expected: str) -> None:
    assert to_discord(f"See {image} here.") == f"See {expected} here."


def test_html_line_breaks_become_line_breaks() -> None:
    assert to_discord("one<br>two <br/> three<BR />four") == "one\ntwo\nthree\nfour"
    assert to_discord("- a <br> b") == "- a\nb"


def test_code_is_never_touched() -> None:
    code = "\n".join(
        [
            "```markdown",
            "| a | b |",
            "|---|---|",
            "#### h4",
            "---",
            "![i](https://x.io/i.png) a<br>b",
            "```",
            "~~~",
            "***",
            "~~~",
        ]
    )
    assert to_discord(code) == code.replace("~~~", FENCE)  # Discord's only fence
    spans = "Use `![i](u)`, ``a<br>b`` and `| x |` as written"
    assert to_discord(spans) == spans
    assert to_discord("a lone ` tick <br> ![a](b)") == "a lone ` tick\n[a](b)"
    assert to_discord("#### `![i](u)` **x**") == "**`![i](u)` x**"


def test_a_code_span_over_lines_is_never_touched() -> None:
    # CommonMark lets a code span hold line endings, and Discord shows it as code too
    # (simple-markdown's inlineCode rule, see adapters.discord.markdown): nothing in it is
    # rewritten, in a paragraph, a list item or a quote.
    page = (
        "Call `obj.\n__init__(x)<br>` and __go__\n- run `a\n  ![i](u)` then __b__\n> `q\n> __r__`"
    )
    assert to_discord(page) == (
        "Call `obj.\n__init__(x)<br>` and **go**\n- run `a\n  ![i](u)` then **b**\n> `q\n> __r__`"
    )
    # It ends with its paragraph: at a blank line, or where a block starts (a list item, a
    # heading, a quote, a fence, a table); a backtick without a partner in it is text.
    for block in ("\n", "- ", "### ", "> "):
        page = f"a ` tick __x__\n{block}b __y__ `"
        assert to_discord(page) == f"a ` tick **x**\n{block}b **y** `"
    assert to_discord("a ` __x__\n```\n__y__ `\n```") == "a ` **x**\n```\n__y__ `\n```"
    table = "a `b\n| c | d |\n|---|---|\n| e` | f |"
    assert to_discord(table) == f"a `b\n{FENCE}\nc | d\n--+--\ne | f\n{FENCE}"
    # The reader every renderer shares: a span holds a line ending, not a blank line.
    assert list(code_spans("a `b\nc` d")) == [(2, 3, 6, 7)]
    assert list(code_spans("a `b\n \t\nc` d")) == []


def test_a_page_cut_inside_a_code_block_is_still_code() -> None:
    # The relay reopens a fence at a page's start and closes it at its end; a page's last
    # fence may be still open while it streams.
    reopened = "```python\n| a | b |\n|---|---|\n```\n#### After"
    assert to_discord(reopened) == "```python\n| a | b |\n|---|---|\n```\n**After**"
    streaming = "#### Before\n```\n| a | b |\n|---|---|\n---"
    assert to_discord(streaming) == "**Before**\n```\n| a | b |\n|---|---|\n---"


def test_text_without_any_of_it_is_returned_as_it_is() -> None:
    text = "**Bold**, *it*, `code`, [link](https://x.io)\n# Head\n- a\n  - b\n> quote\n" * 30
    assert to_discord(text) is text
    assert to_discord("a\r\n\r\n#### b\r\n") == "a\n\n**b**\n"
    assert to_discord("") == ""


def test_a_rendering_bug_sends_the_text_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(lines: list[str]) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(markdown, "_render", broken)
    assert to_discord("#### a | b") == "#### a | b"


_FRAGMENTS = [
    "**", "*", "_", "__", "`", "``", "```\n", "\n```py\n", "~~~\n", "\n~~~py\n", "\n````\n",
    "\n", "\n", "\n\n", " ", " ",
    "# ", "#### ", "###### ", "- ", "* ", "> ", "[", "]", "](", "(", ")", "![", "https://x.io/",
    "|", "| ", " |", "|---|", "\n|:-:|--|\n", "---", "***", "===", "<br>", "<", ">", "\\", "\\|",
    "\t", "苹", "é", '"', "\r\n", "--", "=",
]  # fmt: skip


def test_random_markdown_loses_no_word() -> None:
    rng = random.Random(20261207)
    for _ in range(3000):
        words: list[str] = []
        pieces: list[str] = []
        for _ in range(rng.randint(1, 60)):
            if rng.random() < 0.35:
                words.append(f"w{len(words)}z")
                pieces.append(words[-1])
            else:
                pieces.append(rng.choice(_FRAGMENTS))
        text = "".join(pieces)
        out = to_discord(text)
        assert not [word for word in words if word not in out], (text, out)
        # The fast path (a page sent as it is) is taken only where the full pass agrees.
        normal = text.replace("\r\n", "\n").replace("\r", "\n")
        assert markdown._render(normal.split("\n")) == out, (text, out)


@pytest.mark.parametrize(
    "unit",
    [
        *("![a](", "![", "[a](b", " <br", "<br>" + " " * 50, " " * 40 + "x", "`", "| a ", "#### "),
        *("__a", " __a_", "__ ", "(__a "),
    ],
)
def test_adversarial_lines_render_in_one_pass(unit: str) -> None:
    # A pattern that rescans would take minutes on a 400k-character line; a linear pass is
    # instant. The text is checked too, so the test checks behaviour, not speed.
    line = unit * (400_000 // len(unit))
    out = to_discord(line + " tailword")
    assert out.removesuffix("**").endswith("tailword")


# --- fences Discord has not: ``~~~`` and longer backtick runs --------------------------------

ZWSP = "\u200b"

# Words named p…z are prose, c…z code (as CommonMark, and the relay's paginator, read it).
FENCED = "\n".join(
    [
        "p0z intro",
        "~~~python",
        "c0z = 1  # __c1z__",
        "```",
        "c2z inner fence",
        "```",
        "| c3z | x |",
        "|---|---|",
        "#### c4z",
        "~~~",
        "p1z after __p2z__ and ~~~ p3z",
        "````md",
        "c5z ```",
        "c6z",
        "````",
        "p4z end",
        "```python",
        'c7z = "```"',
        "```js c8z",
        "c9z",
        "```",
        "p5z",
    ]
)


def test_tilde_and_long_fences_become_backtick_fences() -> None:
    # Discord's only fence is three backticks (support.discord.com "Markdown Text 101":
    # "use three backticks (```) to create multiline code blocks"); a ~~~ block would show
    # its tildes, and its code as Markdown.
    assert to_discord("~~~python\nx = 1\n~~~") == "```python\nx = 1\n```"
    assert to_discord("text\n  ~~~~ py\ncode\n~~~~~\nafter") == "text\n  ```py\ncode\n```\nafter"
    assert to_discord("````\na\n````") == "```\na\n```"
    # A line of backticks inside such a block is code (CommonMark); Discord would end the
    # block there, so each run is broken by zero-width spaces.
    assert to_discord("~~~\n```\nx = '''```'''\n~~~") == (
        f"```\n``{ZWSP}`\nx = '''``{ZWSP}`'''\n```"
    )
    assert to_discord("````md\n````` no\n````") == f"```md\n``{ZWSP}``{ZWSP}` no\n```"
    # Three-backtick blocks are Discord's own: kept as written.
    assert to_discord("```py\n#### x\n```") == "```py\n#### x\n```"


def test_three_backticks_in_a_three_backtick_block_are_broken() -> None:
    # Code to CommonMark (and to the relay's paginator), where Discord ends the block at the
    # next three backticks wherever they are: each run is broken, as Slack's renderer does.
    page = 'p0z\n```python\nprint("```")\n```js\n```\np1z ```a``` ok'
    assert to_discord(page) == (
        f'p0z\n```python\nprint("``{ZWSP}`")\n``{ZWSP}`js\n```\np1z ```a``` ok'
    )
    # A page whose three backticks are all fence lines has nothing to rewrite: sent as it is
    # (the fast path; the random test checks it against the full pass).
    for page in ("```py\nx = 1\n```\ntext `a`\n  ```\nb\n```", "a\n```sh\nopen", "```"):
        assert to_discord(page) is page


def _code_and_prose(shown: str) -> tuple[str, str]:
    """What Discord shows as code and as prose: a code block runs from three backticks to
    the next three, wherever they are (discord-markdown-parser, src/utils/regex.ts
    CodeBlockRegex, a model of Discord's own parser)."""
    parts = shown.split(FENCE)
    assert len(parts) % 2 == 1, shown  # every block closed
    return " ".join(parts[1::2]), " ".join(parts[0::2])


def _check_page(page: str) -> None:
    shown = to_discord(page)
    assert not re.search(r"^ {0,3}(~~~|````)", shown, re.MULTILINE), shown
    code, prose = _code_and_prose(shown)
    for word in _words(page):
        if re.fullmatch(r"c\d+z", word):
            assert word in code and word not in prose, (page, shown)
        elif re.fullmatch(r"p\d+z", word):
            assert word in prose and word not in code, (page, shown)


def test_a_page_cut_anywhere_shows_code_where_the_paginator_sees_code() -> None:
    # The open page as the relay shows it while streaming (its last fence closed), and, at a
    # line end (where the paginator cuts inside code), the next page with the fence reopened.
    # (One test for every offset: a test item each costs the parallel run more.)
    for end in range(len(FENCED) + 1):
        fence = fence_at(FENCED, 0, end, None)
        _check_page(page_markdown(FENCED, 0, end, None, fence))
        if end == 0 or FENCED[end - 1] == "\n":
            _check_page(page_markdown(FENCED, end, len(FENCED), fence, None))


def test_a_long_tilde_block_paged_by_the_relay_is_code_on_every_page() -> None:
    lines = "".join(f"c{n}z = '```' + '| x |'\n" for n in range(300))
    reply = f"p0z\n~~~python\n{lines}~~~\np1z"
    pages = split_whole(reply, 2000, lambda page: len(to_discord(page)))
    assert len(pages) >= 3
    for page in pages:
        assert len(to_discord(page)) <= 2000
        _check_page(page)


# --- ``__text__``: bold in CommonMark, underline on Discord -----------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("a __bold__ word", "a **bold** word"),
        ("__Note:__ read this", "**Note:** read this"),
        ("(__a__), __b__. __c d__!", "(**a**), **b**. **c d**!"),
        ("*__both__*", "***both***"),
        ("[__text__](https://x.io)", "[**text**](https://x.io)"),
        ("`__x__` and __y__", "`__x__` and **y**"),
        ("#### A __loud__ heading", "**A loud heading**"),
        # ___x___: strong emphasis and emphasis in CommonMark; underline and italics on
        # Discord, where ***x*** is bold italics ("Markdown Text 101").
        ("___x___", "***x***"),
        ("a ___bold italic___ word, (___b___).", "a ***bold italic*** word, (***b***)."),
        ("#### A ___loud___ one", "**A *loud* one**"),
        ("snake___case___name", "snake___case___name"),
        ("my___x___ ___y___z", "my___x___ ___y___z"),
        ("___x__ __y___ ___ z___", "___x__ __y___ ___ z___"),
        # Not strong emphasis in CommonMark (inside a word), or not plainly so: as written.
        ("my__init__x", "my__init__x"),
        ("snake__case__name", "snake__case__name"),
        ("obj.__init__()", "obj.__init__()"),
        ("https://x.io/__init__.py", "https://x.io/__init__.py"),
        ("[text](__x__)", "[text](__x__)"),
        ("__ spaced __", "__ spaced __"),
        ("\\__x__", "\\__x__"),
        ("__a__b __c__", "__a__b **c**"),
        ("__open only", "__open only"),
    ],
)
def test_double_underscores_are_bold_as_commonmark_reads_them(line: str, expected: str) -> None:
    # Discord shows __text__ underlined (support.discord.com "Markdown Text 101":
    # "Underline __underline__"); the agent writes CommonMark, where it is bold.
    assert to_discord(f"text\n{line}") == f"text\n{expected}"


def test_double_underscores_in_code_and_table_cells() -> None:
    code = "```py\ndef __init__(self): __x__\n```\n~~~\n__y__\n~~~"
    assert to_discord(code) == code.replace("~~~", FENCE)
    table = "| a |\n|---|\n| __b__ `__c__` ___d___ |"
    assert to_discord(table) == f"{FENCE}\na\n---------\nb __c__ d\n{FENCE}"


def test_the_bots_own_texts_need_no_rewrite() -> None:
    # Some are sent without rendering: a DM's access notice (adapters.discord.private gets
    # core.texts.DENIED), an ephemeral follow-up to a button or command. None holds what the
    # renderer would change, so none needs it; a new text that did would fail here.
    import adapters.discord.texts
    import bots.discord.texts
    import core.texts

    for module in (core.texts, bots.discord.texts, adapters.discord.texts):
        for name in dir(module):
            value = getattr(module, name)
            for text in value.values() if isinstance(value, dict) else [value]:
                if isinstance(text, str) and not name.startswith("__"):
                    assert to_discord(text) == text, (module.__name__, name)
