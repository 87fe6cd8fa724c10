"""End to end: files a Lyzr agent announces in its text (an ``<artifacts>`` block, as Lyzr's
studio reads them; tests/servers/lyzr_server.py) arrive in the Slack thread as files, and
the block is never shown, in no edit; a block that cannot be read is said so in a notice,
and so is a listing of the session's files that failed."""

from __future__ import annotations

from bots.simulators.slack import Message, SlackSimulator
from core import texts
from tests.bots.slack.conftest import StartBot, mention
from tests.servers.lyzr_server import LyzrScript, LyzrServer, artifacts_block, split_words


async def _replies(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot, script: LyzrScript, count: int
) -> list[Message]:
    ws = sim.workspace
    lyzr.enqueue(script)
    bot = await start_bot()
    turn = await sim.user_says(ws.general, ws.alice, mention(sim, "files please"))
    await sim.wait_for(lambda: len(sim.bot_replies(ws.general, turn.thread_ts)) == count)
    await sim.wait_for(lambda: not bot.bot.tasks)
    return sim.bot_replies(ws.general, turn.thread_ts)


def _everything_shown(message: Message) -> str:
    return "\n".join([*message.history, message.text])


async def test_files_announced_in_the_text_are_uploaded_and_the_block_never_shown(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    entries = [
        {"file_url": lyzr.add_file("report.csv", b"a,b\n1,2\n"), "artifact_id": "art-1",
         "name": "report.csv", "format_type": "csv"},
        {"file_url": lyzr.add_file("chart.txt", b"####"), "artifact_id": "art-2",
         "name": "chart.txt", "format_type": "txt"},
    ]  # fmt: skip
    block = artifacts_block(entries)
    script = LyzrScript(
        tokens=split_words("Here are the files you asked for."),
        text_artifacts=entries,
        text_artifacts_at=3,  # amid the text, cut in small tokens streamed over time
        text_artifacts_cuts=range(7, len(block), 7),
        delay=0.01,
    )
    text, files = await _replies(sim, lyzr, start_bot, script, 2)
    assert text.text == "Here are the files you asked for."
    assert "artifacts" not in _everything_shown(text) and "&lt;" not in _everything_shown(text)
    assert [(f.filename, f.data) for f in files.files] == [
        ("report.csv", b"a,b\n1,2\n"),
        ("chart.txt", b"####"),
    ]


async def test_an_unreadable_block_is_named_in_the_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    script = LyzrScript(tokens=["Your ", "files.", artifacts_block('[{"file_url": "ht')])
    text, notice = await _replies(sim, lyzr, start_bot, script, 2)
    assert text.text == "Your files."
    assert "artifacts" not in _everything_shown(text)
    assert "files the agent listed in its reply" in notice.text
    assert "could not be read" in notice.text


async def test_a_failed_listing_of_the_sessions_files_is_said_in_a_notice(
    sim: SlackSimulator, lyzr: LyzrServer, start_bot: StartBot
) -> None:
    # The files the agent made are listed after its reply (GET /v3/artifacts/); that
    # listing failing (the server's 500) loses them: the user is told so, not left to guess.
    script = LyzrScript(tokens=["Here ", "you are."], artifacts_status=500)
    text, notice = await _replies(sim, lyzr, start_bot, script, 2)
    assert text.text == "Here you are."
    assert notice.text == (
        f"⚠️ Could not attach *{texts.FILES_MADE}*: {texts.ARTIFACTS_NOT_LISTED}."
    )
