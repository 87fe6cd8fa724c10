"""Files a Lyzr agent announces in its text (``<artifacts>[...]</artifacts>``, as Lyzr's studio
reads them; see tests/servers/lyzr_server.py): the block never reaches the user's text, not
even in part while it streams, and its files are the reply's, once."""

from __future__ import annotations

import itertools
import logging

import pytest

from core.agents.lyzr import LyzrAgent
from core.agents.reply import ReplyBuilder
from core.models import UNREADABLE_ARTIFACTS_KEY, AgentStream
from tests.agents.test_lyzr import collect, text_of
from tests.servers.lyzr_server import LyzrScript, LyzrServer, artifacts_block

ENTRIES = [
    {"file_url": "https://files.example/a/report.pdf", "artifact_id": "art-1",
     "name": "report", "format_type": "pdf"},
    {"file_url": "https://files.example/a/chart.png", "artifact_id": "art-2",
     "name": "chart", "format_type": "image"},
]  # fmt: skip
BLOCK = artifacts_block(ENTRIES)


def names(chunks: list[AgentStream]) -> list[str]:
    return [f.name for f in chunks[-1].files]


async def test_the_block_split_at_every_offset_is_never_shown(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    for cut in range(1, len(BLOCK)):
        lyzr_server.enqueue(
            LyzrScript(tokens=["Here ", "you ", "go."], text_artifacts=ENTRIES,
                       text_artifacts_cuts=[cut])
        )  # fmt: skip
        chunks = await collect(lyzr, session_id=f"s{cut}")
        assert text_of(chunks) == "Here you go.", cut
        assert names(chunks) == ["report", "chart"], cut
        assert [f.artifact_id for f in chunks[-1].files] == ["art-1", "art-2"]
        assert chunks[-1].files[0].url == ENTRIES[0]["file_url"]


def test_every_two_cuts_of_a_block_amid_text() -> None:
    """Three tokens of every shape: nothing of the block leaks in any streamed chunk."""
    text = f"Before {BLOCK} after <b>."
    for one, two in itertools.combinations(range(1, len(text)), 2):
        reply = ReplyBuilder("s", inline_artifacts=True)
        parts = [text[:one], text[one:two], text[two:]]
        shown = [c.content for p in parts if (c := reply.text(p)) is not None]
        final = reply.finish(artifacts=reply.announced)
        shown += [c.content for c in final]
        assert "".join(shown) == "Before  after <b>.", (one, two)
        assert all("artifacts" not in s and "file_url" not in s for s in shown)
        assert [f.name for f in final[-1].files] == ["report", "chart"]


async def test_a_block_in_the_middle_of_the_text(lyzr: LyzrAgent, lyzr_server: LyzrServer) -> None:
    lyzr_server.default = LyzrScript(
        tokens=["I made ", "two files.", "\n", "Anything else?"],
        text_artifacts=ENTRIES,
        text_artifacts_at=3,
        text_artifacts_cuts=[3, 40, 90],
    )
    chunks = await collect(lyzr)
    assert text_of(chunks) == "I made two files.\nAnything else?"
    assert names(chunks) == ["report", "chart"]


async def test_two_blocks_and_a_file_named_twice_is_delivered_once(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    third = {"file_url": "https://files.example/a/data.csv", "name": "data.csv"}
    second = artifacts_block([ENTRIES[1], third])  # the chart again, by id and link
    lyzr_server.default = LyzrScript(
        tokens=["One ", BLOCK[:20], BLOCK[20:], " two ", second, " end."],
    )
    chunks = await collect(lyzr)
    assert text_of(chunks) == "One  two  end."
    assert names(chunks) == ["report", "chart", "data.csv"]


async def test_a_file_both_listed_and_announced_is_delivered_once_as_listed(
    lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    listed = [{**ENTRIES[0], "name": "report.pdf"}]
    lyzr_server.default = LyzrScript(tokens=["Done."], text_artifacts=ENTRIES, artifacts=listed)
    chunks = await collect(lyzr)
    assert names(chunks) == ["report.pdf", "chart"]
    # Next turn: the session's listing names both; neither is delivered again.
    lyzr_server.default = LyzrScript(tokens=["Again."], artifacts=[*listed, ENTRIES[1]])
    assert names(await collect(lyzr)) == []


@pytest.mark.parametrize(
    "content",
    ['[{"file_url": "https://files.example/x.pdf", "name": ', "not json", '[{"size": 3}]'],
    ids=["cut-json", "not-json", "no-name-or-link"],
)
async def test_an_unreadable_block_stays_out_and_is_reported(
    content: str, lyzr: LyzrAgent, lyzr_server: LyzrServer, caplog: pytest.LogCaptureFixture
) -> None:
    lyzr_server.default = LyzrScript(
        tokens=["Files: ", artifacts_block(content), " done."], text_artifacts_cuts=[5]
    )
    with caplog.at_level(logging.WARNING, logger="core.agents.inline_artifacts"):
        chunks = await collect(lyzr)
    assert text_of(chunks) == "Files:  done."
    assert names(chunks) == []
    assert len(chunks[-1].metadata[UNREADABLE_ARTIFACTS_KEY]) == 1
    assert "unreadable <artifacts> block" in caplog.text


@pytest.mark.parametrize(
    ("tail", "shown", "files"),
    [
        (f"<artifacts>{BLOCK[11:-12]}", "See:", ["report", "chart"]),  # closing tag forgotten
        ("the <artifacts> tag wraps files", "See:the <artifacts> tag wraps files", []),
        ("a < b and <artif", "See:a < b and <artif", []),
    ],
    ids=["unclosed-json", "words", "partial-tag"],
)
async def test_what_is_held_at_the_end(
    tail: str, shown: str, files: list[str], lyzr: LyzrAgent, lyzr_server: LyzrServer
) -> None:
    lyzr_server.default = LyzrScript(tokens=["See:", tail])
    chunks = await collect(lyzr)
    assert text_of(chunks) == shown
    assert names(chunks) == files
    assert UNREADABLE_ARTIFACTS_KEY not in chunks[-1].metadata
